import { describe, expect, it } from 'vitest';
import { WEB_PAGE } from '../../shared/manual/web-page';
import { buildPage } from '../../web/build';

/**
 * shared/manual/web-page.ts is generated from web/ by `npm run build:web` and committed, so the Lambda
 * bundle needs no build step of its own. This fails when the two drifted apart: run `npm run build:web`.
 */
describe('the console page (web/ → shared/manual/web-page.ts)', () => {
  it('is what the sources in web/ build', async () => {
    const built = await buildPage();
    expect(WEB_PAGE === built, 'shared/manual/web-page.ts is stale: run `npm run build:web`').toBe(true);
  });

  it('is one self-contained page: inline script and style allowed by hash, nothing loaded from elsewhere', () => {
    expect(WEB_PAGE).toMatch(/^<!doctype html>/);
    expect(WEB_PAGE).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/,
    );
    expect(WEB_PAGE).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)|@import|url\((?!data:)/);
    expect(WEB_PAGE.match(/<script>/g)).toHaveLength(1);
    // Data reaches the page through textContent only.
    expect(WEB_PAGE).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(Buffer.byteLength(WEB_PAGE)).toBeLessThan(80 * 1024);
  });
});
