import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

it("keeps the generated protobuf codec and Env types in step with their sources", () => {
  const output = execFileSync(process.execPath, [join(root, "scripts/check-generated.mjs")], {
    cwd: root,
    encoding: "utf8",
  });
  expect(output).toMatch(/generated codec is up to date/);
  expect(output).toMatch(/Env types are up to date/);
});
