// Debian's chromium through playwright-core, headless, for the dashboard's browser tests:
// never a downloaded browser. Skipped only when /usr/bin/chromium is missing and CI is not
// set (scripts/setup.sh installs it; under CI a missing browser fails the test).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Whether the browser tests run here. */
export const runBrowserTests = existsSync(CHROMIUM) || Boolean(process.env.CI);
if (!runBrowserTests)
  console.warn(
    `serve dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium, or run scripts/setup.sh); they never skip when CI is set`,
  );

/** A fresh profile in dir, no network chatter of the browser's own, no GPU, no sandbox (root in CI). */
export async function launchBrowser(
  dir: string,
  viewport = { width: 1100, height: 800 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return { context, page: context.pages()[0] ?? (await context.newPage()) };
}

/** How many of the log's lines of one kind (serial, output, step, log) are visible. */
export function visibleLines(page: Page, kind: string): Promise<number> {
  return page.$$eval(
    `#log .line.k-${kind}`,
    (lines) => lines.filter((l) => (l as HTMLElement).offsetParent !== null).length,
  );
}
