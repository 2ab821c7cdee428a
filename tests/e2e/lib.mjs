// Helpers shared by the browser stories (run.mjs, documents.mjs).

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

/// An environment variable, or `d`; missing without a default is an error.
export const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`missing ${k}`);
  return v;
};

export function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

/// A function saving a full-page screenshot of a page as `dir/NAME.png`.
export function screenshots(dir) {
  mkdirSync(dir, { recursive: true });
  return async (page, name) => {
    await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
  };
}

/// Select the option whose text contains `text`.
export async function selectByText(page, selector, text) {
  const value = await page.$eval(selector, (s, t) => {
    const o = [...s.options].find((o) => o.text.includes(t));
    return o ? o.value : null;
  }, text);
  if (value === null) throw new Error(`no option "${text}" in ${selector}`);
  await page.selectOption(selector, value);
}

/// Every visible form control has a label the screen reader announces.
export async function allLabelled(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].every(
      (el) => (el.labels && el.labels.length > 0) || el.getAttribute('aria-label'),
    ),
  );
}

/// Debian's chromium, headless, as the container allows it.
export function launch() {
  return chromium.launch({
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
