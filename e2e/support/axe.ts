import { AxeBuilder } from "@axe-core/playwright";
import { test, type Page } from "@playwright/test";

/**
 * axe-core over `page` in light and dark, with a screenshot of each in the test's output; prints
 * the count per page and answers the critical and serious violations found (expected: none).
 */
export async function auditBothThemes(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string[]> {
  const found: string[] = [];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const results = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
      .analyze();
    await page.screenshot({ path: test.info().outputPath(`${name}-${scheme}.png`), fullPage: options.fullPage });
    const bad = results.violations.filter((v) => v.impact === "critical" || v.impact === "serious");
    console.log(`[axe] ${test.info().project.name} ${scheme} ${name}: critical/serious ${bad.length}`);
    found.push(...bad.map((v) => `${name} (${scheme}): ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`));
  }
  await page.emulateMedia({ colorScheme: null });
  return found;
}
