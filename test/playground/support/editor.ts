// Typing into the playground's CodeMirror editor the way a user does: focus, select all, type.
import type { Page } from "playwright-core";

/** The editor's current text. */
export async function editorText(page: Page): Promise<string> {
  return page.$eval(".cm-content", (content) =>
    [...content.querySelectorAll(".cm-line")].map((line) => line.textContent ?? "").join("\n"),
  );
}

/** Replaces the editor's whole text with `text`, as typed input (so the app sees a real edit). */
export async function replaceSource(page: Page, text: string): Promise<void> {
  await page.click(".cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(text);
}
