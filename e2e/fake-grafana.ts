import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for Grafana on 127.0.0.1 (no Grafana is installable here): it answers `/d-solo/…` and `/d/…`
 * with a small HTML page that draws the panel id, the robot and the range it was asked for in the theme it
 * was asked for, and records every request. It sends no X-Frame-Options, like Grafana with
 * `allow_embedding = true`; the app's own CSP (frame-src) is what decides whether the frame may load.
 */
export interface FakeGrafana {
  url: string;
  /** Every request's URL (path and query), in order. */
  requests: URL[];
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(url: URL): string {
  const q = url.searchParams;
  const dark = q.get('theme') === 'dark';
  const [bg, fg, line] = dark ? ['#181b1f', '#ccccdc', '#73bf69'] : ['#ffffff', '#24292e', '#56a64b'];
  const panel = q.get('panelId') ?? 'dashboard';
  // A wavy line whose shape depends on the panel, so the screenshots show different panels.
  const seed = Number(panel) || 1;
  const points = Array.from({ length: 40 }, (_, i) => {
    const y = 50 + 30 * Math.sin((i + seed) / (2 + (seed % 3))) * Math.cos(i / 7);
    return `${i * 10},${y.toFixed(1)}`;
  }).join(' ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Grafana stand-in</title>
<style>html,body{margin:0;height:100%;background:${bg};color:${fg};font:12px sans-serif}
.h{padding:6px 8px;font-weight:600}.s{padding:0 8px;opacity:.7}svg{width:100%;height:calc(100% - 48px)}</style></head>
<body data-theme="${dark ? 'dark' : 'light'}"><div class="h">Stand-in panel ${esc(panel)}</div>
<div class="s">${esc(q.get('var-robot_id') ?? '')} · ${esc(q.get('from') ?? '')} → ${esc(q.get('to') ?? '')}</div>
<svg viewBox="0 0 390 100" preserveAspectRatio="none"><polyline fill="none" stroke="${line}" stroke-width="2" points="${points}"/></svg>
</body></html>`;
}

export async function startFakeGrafana(): Promise<FakeGrafana> {
  const requests: URL[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-grafana');
    requests.push(url);
    if (/^\/d(-solo)?\//.test(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page(url));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
