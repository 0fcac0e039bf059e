/**
 * The dashboard's login form: what a browser gets instead of a raw 401 when the API needs a token
 * and none (or a wrong one) came with the page request. The form sends the token back as
 * `?access_token=`, the way the page takes it.
 *
 * @module
 */

import { html, raw } from "hono/html";
import { DASHBOARD_CSS } from "./_styles.ts";

/** Options of {@linkcode renderLogin}. */
export interface LoginOptions {
  /** The page title. */
  title: string;
  /** A token was given and refused. */
  refused: boolean;
}

/**
 * Renders the login form as a complete HTML document (every value escaped).
 *
 * @example Usage
 * ```ts
 * import { renderLogin } from "./_login.ts";
 *
 * const page = await renderLogin({ title: "tasklite", refused: false });
 * console.log(page.includes('name="access_token"')); // true
 * ```
 *
 * @param options The title, and whether a token was refused.
 * @returns The HTML document.
 */
export function renderLogin(options: LoginOptions): Promise<string> | string {
  const doc = html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <link rel="icon" href="data:,">
        <title>Sign in · ${options.title}</title>
        <style>${raw(DASHBOARD_CSS)}</style>
      </head>
      <body>
        <main>
          <form class="card login" method="get" data-testid="login">
            <h1>${options.title}</h1>
            <p class="muted">This queue needs an access token.</p>
            ${options.refused
              ? html`<p class="err" role="alert" data-testid="login-refused">That token was refused.</p>`
              : ""}
            <label for="tl-token">Access token</label>
            <input id="tl-token" name="access_token" type="password" required autocomplete="off"
              data-testid="login-token">
            <button type="submit" class="btn" data-testid="login-submit">Sign in</button>
          </form>
        </main>
      </body>
    </html>
  `;
  return doc instanceof Promise ? doc.then((d) => String(d).trimStart()) : String(doc).trimStart();
}
