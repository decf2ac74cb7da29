/**
 * The approvals page's files as served (lib/governance/ui/): content types, the security headers,
 * a page with no inline script or style whose links resolve to the route's own assets, and a script
 * that parses and never reaches for an HTML sink or persistent storage. (The page in a browser is
 * test/integration/approvals-page.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Script } from 'node:vm';
import { CONTENT_SECURITY_POLICY, uiAsset } from '../../lib/governance/ui/serve.ts';
import { uiAssets } from '../../lib/governance/ui-route.ts';

describe('approvals page files', () => {
  it('serves each asset with its content type, the CSP, nosniff and no referrer', () => {
    const types = { page: 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };
    for (const asset of uiAssets) {
      const reply = uiAsset(asset);
      assert.equal(reply.contentType, types[asset]);
      assert.equal(reply.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
      assert.equal(reply.headers['x-content-type-options'], 'nosniff');
      assert.equal(reply.headers['referrer-policy'], 'no-referrer');
      assert.ok(reply.body.length > 500, `${asset} is not empty`);
    }
  });

  it('sets a CSP that allows only the own origin and forbids inline code, framing, forms and base URLs', () => {
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split('; ').map((directive) => [directive.split(' ')[0], directive.split(' ').slice(1).join(' ')]),
    );
    assert.equal(directives.get('default-src'), "'none'");
    for (const name of ['script-src', 'style-src', 'connect-src']) assert.equal(directives.get(name), "'self'", name);
    assert.equal(directives.get('img-src'), "'self' data:");
    for (const name of ['base-uri', 'form-action', 'frame-ancestors']) assert.equal(directives.get(name), "'none'", name);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-|\*/);
  });

  it('links only its own assets from a page with no inline script, style or handler', () => {
    const html = uiAsset('page').body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    for (const [, attributes, content] of scripts) {
      assert.match(attributes ?? '', /\ssrc="/);
      assert.equal(content?.trim(), '');
    }
    assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i);
    const links = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    const pageUrl = 'https://api.example.com/governance/ui';
    const served = links.filter((link) => !link.startsWith('data:')).map((link) => new URL(link, pageUrl));
    assert.deepEqual(served.map((url) => url.searchParams.get('asset')).sort(), ['app.css', 'app.js']);
    for (const url of served) assert.equal(`${url.origin}${url.pathname}`, pageUrl, 'assets resolve to the page route');
  });

  it('ships a script that parses and uses no HTML sink, eval or persistent storage', () => {
    const script = uiAsset('app.js').body;
    assert.doesNotThrow(() => new Script(script, { filename: 'app.js' }));
    assert.doesNotMatch(
      script,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment|\beval\(|new Function|localStorage|document\.cookie/,
    );
    assert.match(script, /sessionStorage\.setItem/);
    assert.match(script, /sessionStorage\.removeItem/);
  });
});
