/**
 * The dashboard's stylesheet: light and dark colour schemes, the status colours, and the layout
 * breakpoints (the detail panel pushes the page aside on wide screens).
 *
 * @module
 */

/** The CSS inlined into the dashboard page's `<style>`. */
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --fg: #16181d; --muted: #646b78; --card: #fff; --line: #e3e6eb;
  --hover: #f0f3f7; --accent: #3b63d8; --sel: #e8eefc;
  --pending: #3b82f6; --running: #d97706; --completed: #16a34a; --failed: #dc2626;
  --cancelled: #7c818c; --warn-bg: #fff7e6; --warn-fg: #8a5300; --err-bg: #fdecec; --err-fg: #9b1c1c;
  /* Text in a status colour: at least 4.5:1 on the card and on its badge tint (WCAG AA). */
  --pending-fg: #1d4ed8; --running-fg: #92400e; --completed-fg: #166534; --failed-fg: #b91c1c;
  --cancelled-fg: #4b5563;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111317; --fg: #e6e8ec; --muted: #9aa1ad; --card: #1a1d23; --line: #2b3039;
    --hover: #222731; --accent: #7c9cff; --sel: #23304f;
    --warn-bg: #3a2c10; --warn-fg: #ffd48a; --err-bg: #3d1a1a; --err-fg: #ffb4b4;
    --pending-fg: #93c5fd; --running-fg: #fcd34d; --completed-fg: #86efac; --failed-fg: #fca5a5;
    --cancelled-fg: #d1d5db;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 18px; margin: 0; letter-spacing: .2px; }
h2 { font-size: 15px; margin: 0; }
button { font: inherit; color: inherit; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; margin: -1px; padding: 0; border: 0; }
.muted { color: var(--muted); }
.top { display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 12px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
.top-right { display: flex; align-items: center; gap: 12px; font-size: 13px; flex-wrap: wrap; }
.result { max-width: 1400px; margin: 12px auto 0; width: calc(100% - 48px); padding: 8px 14px;
  border-radius: 8px; background: var(--card); border: 1px solid var(--line); }
.result.error { background: var(--err-bg); color: var(--err-fg); border-color: transparent; }
.conn { display: inline-flex; align-items: center; gap: 6px; color: var(--muted); }
.conn::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--cancelled); }
.conn[data-state="live"]::before { background: var(--completed); }
.conn[data-state="connecting"]::before { background: var(--running); }
.conn[data-state="offline"]::before { background: var(--failed); }
main { max-width: 1400px; margin: 0 auto; padding: 20px 24px 48px; display: grid; gap: 20px; }
.banner { max-width: 1400px; margin: 12px auto 0; padding: 10px 14px; border-radius: 8px;
  background: var(--err-bg); color: var(--err-fg); width: calc(100% - 48px); }
.banner.warn { background: var(--warn-bg); color: var(--warn-fg); }
.stats { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; }
.stat { text-align: left; background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px; cursor: pointer; display: grid; gap: 2px; }
.stat:hover { background: var(--hover); }
.stat[aria-selected="true"] { border-color: var(--accent); box-shadow: inset 0 -3px 0 var(--accent); }
.stat-label { color: var(--muted); text-transform: capitalize; display: flex; align-items: center; gap: 6px; }
.stat-value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.dot { width: 8px; height: 8px; border-radius: 50%; display: inline-block; }
.dot.pending, .badge.pending { --c: var(--pending); --t: var(--pending-fg); }
.dot.running, .badge.running { --c: var(--running); --t: var(--running-fg); }
.dot.completed, .badge.completed { --c: var(--completed); --t: var(--completed-fg); }
.dot.failed, .badge.failed { --c: var(--failed); --t: var(--failed-fg); }
.dot.cancelled, .badge.cancelled { --c: var(--cancelled); --t: var(--cancelled-fg); }
.dot { background: var(--c); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
.card-head { display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 12px 16px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.two { display: grid; grid-template-columns: 3fr 2fr; gap: 20px; }
.table-wrap { overflow-x: auto; position: relative; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 8px 12px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top;
  white-space: nowrap; }
th { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .3px; }
tbody tr:last-child td { border-bottom: 0; }
.num { text-align: right; }
td.empty-row { color: var(--muted); text-align: center; padding: 16px; white-space: normal; }
table.tasks tbody tr { cursor: pointer; }
table.tasks td { vertical-align: middle; padding-top: 6px; padding-bottom: 6px; }
table.tasks tbody tr:hover { background: var(--hover); }
table.tasks tbody tr.selected { background: var(--sel); }
table.tasks tbody tr:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
.name { max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
.sub { display: block; font-size: 12px; color: var(--muted); overflow: hidden; text-overflow: ellipsis;
  max-width: 360px; }
.sub.err { color: var(--failed-fg); }
td.error-cell { display: table-cell; max-width: 260px; white-space: nowrap; }
code, .mono { font-family: var(--mono); font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: var(--t); background: color-mix(in srgb, var(--c) 14%, transparent); }
.badge.paused { --c: var(--running); --t: var(--running-fg); }
.badge.active { --c: var(--completed); --t: var(--completed-fg); }
.prio-4 { color: var(--failed-fg); font-weight: 600; }
.prio-3 { color: var(--running-fg); font-weight: 600; }
.prio-1 { color: var(--muted); }
.btn { border: 1px solid var(--line); background: var(--card); border-radius: 6px; padding: 4px 10px;
  cursor: pointer; font-size: 13px; }
.btn:hover:not(:disabled) { background: var(--hover); }
.btn:disabled { opacity: .5; cursor: default; }
.btn.ghost { border-color: transparent; }
.btn.retry { color: var(--accent); border-color: color-mix(in srgb, var(--accent) 40%, var(--line)); }
.btn.cancel { color: var(--failed-fg); border-color: color-mix(in srgb, var(--failed) 40%, var(--line)); }
.btn.small { padding: 2px 8px; font-size: 12px; }
.btn[aria-pressed="true"] { border-color: var(--accent); color: var(--accent); }
td.actions { text-align: right; }
td.row-actions { display: flex; gap: 6px; justify-content: flex-end; }
.card-tools { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.filters { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; padding: 8px 16px;
  border-bottom: 1px solid var(--line); }
select { padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--card);
  color: var(--fg); font: inherit; font-size: 13px; }
th button.sort { border: 0; background: none; padding: 0; font: inherit; color: inherit; cursor: pointer;
  text-transform: inherit; letter-spacing: inherit; }
th[aria-sort="ascending"] button.sort::after { content: " ▲"; }
th[aria-sort="descending"] button.sort::after { content: " ▼"; }
.btn[aria-current="page"] { border-color: var(--accent); color: var(--accent); font-weight: 600; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 12px 16px; }
.charts h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .3px; color: var(--muted);
  margin: 0 0 6px; font-weight: 600; }
.chart { display: block; width: 100%; height: auto; }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.chart .axis { fill: var(--muted); font-size: 11px; font-family: inherit; }
.bar-ok { fill: var(--completed); background: var(--completed); }
.bar-failed { fill: var(--failed); background: var(--failed); }
.line-pending { fill: none; stroke: var(--pending); stroke-width: 2; background: var(--pending); }
.line-running { fill: none; stroke: var(--running); stroke-width: 2; background: var(--running); }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin-top: 4px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.swatch { width: 10px; height: 10px; border-radius: 2px; display: inline-block; }
.login { max-width: 380px; margin: 12vh auto; padding: 24px; display: grid; gap: 12px; }
.login input { padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg);
  color: var(--fg); font: inherit; }
.login .err { color: var(--err-fg); }
input[type="search"] { width: min(320px, 100%); padding: 6px 10px; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
.pager { display: flex; align-items: center; justify-content: flex-end; gap: 8px; padding: 10px 16px;
  border-top: 1px solid var(--line); }
.pager .muted { margin-right: auto; }
.empty { padding: 28px 16px; text-align: center; color: var(--muted); }
.bar { display: inline-block; vertical-align: middle; width: 80px; height: 6px; border-radius: 3px;
  background: var(--line); overflow: hidden; margin-left: 6px; }
.bar > i { display: block; height: 100%; background: var(--running); }
.detail { position: fixed; top: 0; right: 0; bottom: 0; width: min(560px, 100vw); background: var(--card);
  border-left: 1px solid var(--line); box-shadow: -8px 0 24px rgb(0 0 0 / .12); display: flex;
  flex-direction: column; z-index: 10; }
.detail-head { display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 14px 16px; border-bottom: 1px solid var(--line); }
.detail-head h2 { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.detail-body { overflow: auto; padding: 16px; display: grid; gap: 16px; align-content: start; }
.detail-actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
.detail h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .3px; color: var(--muted); margin: 0 0 6px; }
pre { margin: 0; padding: 10px 12px; background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  overflow: auto; max-height: 320px; font: 12.5px/1.5 var(--mono); white-space: pre-wrap; overflow-wrap: anywhere; }
pre.err { color: var(--err-fg); background: var(--err-bg); border-color: transparent; }
.history td { white-space: normal; }
.toasts { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); display: grid; gap: 8px;
  z-index: 20; }
.toast { padding: 8px 14px; border-radius: 8px; background: var(--fg); color: var(--bg);
  box-shadow: 0 4px 16px rgb(0 0 0 / .2); max-width: 90vw; }
.toast.error { background: var(--failed); color: #fff; }
@media (min-width: 1200px) {
  /* Wide screens: the open detail panel pushes the page aside instead of covering it. */
  .detail { width: min(560px, 40vw); box-shadow: none; }
  .detail-open main, .detail-open .banner, .detail-open .top { margin-right: min(560px, 40vw); }
  .detail-open main { padding-right: 16px; }
  .detail-open .two { grid-template-columns: 1fr; }
  .detail-open .col-wide { display: none; }
  .detail-open .name, .detail-open .sub { max-width: 220px; }
}
@media (max-width: 1100px) {
  .two { grid-template-columns: 1fr; }
}
@media (max-width: 900px) {
  .stats { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  main { padding: 16px 12px 40px; }
  .charts { grid-template-columns: 1fr; }
}
@media (max-width: 600px) {
  .stats { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .top { flex-wrap: wrap; padding: 10px 12px; }
  .banner, .result { width: calc(100% - 24px); }
}
`;
