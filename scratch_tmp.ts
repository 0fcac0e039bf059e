import { TaskQueue } from "./mod.ts";
const queue = await TaskQueue.open(":memory:");
await queue.setLimits("t", { concurrencyPerKey: 2 });
let t0 = performance.now();
const N = 100_000;
for (let i = 0; i < N; i += 10_000) {
  await queue.enqueueMany(Array.from({ length: 10_000 }, (_, j) => ({ name: `a${i + j}`, taskType: "t", concurrencyKey: "A" })));
}
console.log("enqueue", performance.now() - t0);
await queue.enqueue({ name: "b", taskType: "t", concurrencyKey: "B" });
await queue.enqueue({ name: "c", taskType: "t" });
t0 = performance.now();
const got = await queue.dequeueMany(10);
console.log("claim", performance.now() - t0, got.map((t) => `${t.name}:${t.concurrencyKey}`));
for (let i = 0; i < 5; i++) {
  t0 = performance.now();
  const more = await queue.dequeueMany(10, { taskTypes: ["t"] });
  console.log("claim", performance.now() - t0, more.map((t) => t.name));
}
console.log(await queue.getControls());
await queue.close();
