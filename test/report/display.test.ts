import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  figureHtml,
  figureText,
  imagesHtml,
  markdownHtml,
  plotlyBundleScript,
  plotlyJson,
  setDisplaySink,
  showFigure,
  showTable,
  tableHtml,
  tableText,
  PLOTLY_BUNDLE_MARKER,
  PLOTLY_CHART_CLASS,
} from '../../lib/report/display';
import { jsonForScript } from '../../lib/report/html';

test('figureHtml: a chart div and a script that cannot be closed early by the data', () => {
  const fig = { data: [{ type: 'bar', y: [1, 2], name: '</script><b>x</b>' }], layout: { title: 'T' } };
  const html = figureHtml(fig);
  assert.match(html, new RegExp(`<div id="rps-plot-[0-9a-f]+" class="${PLOTLY_CHART_CLASS}"`));
  assert.equal(html.match(/<\/script>/g)?.length, 1, 'only the closing tag of the chart script');
  assert.ok(html.includes('Plotly.newPlot'));
  // The payload parses back to the same data, with the string title turned into plotly 3's object form.
  const payload = /var fig = (.*);\n/.exec(html)?.[1];
  assert.ok(payload);
  const parsed = JSON.parse(payload) as { data: { name: string }[]; layout: { title: unknown; height: number } };
  assert.equal(parsed.data[0].name, '</script><b>x</b>');
  assert.deepEqual(parsed.layout.title, { text: 'T' });
  assert.equal(parsed.layout.height, 420);
});

test('plotlyJson: typed arrays become arrays, nested string titles become objects', () => {
  const out = plotlyJson({ y: new Float32Array([1, 2]), xaxis: { title: 'epoch' }, keep: 'title', n: null }) as Record<string, unknown>;
  assert.deepEqual(out, { y: [1, 2], xaxis: { title: { text: 'epoch' } }, keep: 'title', n: null });
  assert.equal(jsonForScript({ a: '</script>\u2028' }).includes('</'), false);
});

test('showFigure: plotly bundle once per kernel, then only charts; bad figures are rejected', () => {
  const html: string[] = [];
  setDisplaySink({ html: (s) => html.push(s), text: () => undefined });
  try {
    showFigure({ data: [{ type: 'scatter', y: [1] }], layout: {} });
    showFigure({ data: [{ type: 'scatter', y: [2] }], layout: {} });
    const bundles = html.filter((h) => h.includes(`${PLOTLY_BUNDLE_MARKER}=`));
    assert.equal(bundles.length, 1);
    assert.equal(html.length, 3);
    assert.ok(bundles[0].length > 1_000_000, 'the whole plotly.js is inlined');
    showFigure({ data: [{ y: [3] }], layout: {} }, { injectPlotly: true });
    assert.equal(html.filter((h) => h.includes(`${PLOTLY_BUNDLE_MARKER}=`)).length, 2);
    assert.throws(() => showFigure({ data: 'x' } as never), /PlotlyFigure/);
  } finally {
    setDisplaySink(undefined);
  }
});

test('plotlyBundleScript: wrapped so that an AMD loader cannot capture plotly', () => {
  const s = plotlyBundleScript();
  assert.ok(s.startsWith(`<script ${PLOTLY_BUNDLE_MARKER}="1">if (!window.Plotly)`));
  assert.ok(s.endsWith('}).call(window); }</script>'));
  assert.equal(s.slice(8, -9).includes('</script'), false);
});

test('figureText names the title and the traces', () => {
  assert.equal(figureText({ data: [{ name: 'loss' }, { type: 'bar' }], layout: { title: { text: 'Curves' } } }), '[Curves: 2 trace(s): loss, bar]');
});

test('imagesHtml: raw pixels become inline PNGs; captions are escaped; bad input is named', () => {
  const px = new Uint8Array(2 * 2 * 3).fill(200);
  const html = imagesHtml([{ image: { pixels: px, width: 2, height: 2 }, caption: '<rock>', color: 'red' }], { columns: 3, width: 50 });
  assert.match(html, /<img src="data:image\/png;base64,iVBOR/);
  assert.ok(html.includes('&lt;rock&gt;'));
  assert.ok(html.includes('repeat(3,54px)'));
  assert.throws(() => imagesHtml([{ image: 'http://x/y.png' }]), /data:image/);
  assert.throws(() => imagesHtml([], { columns: 0 }), /columns/);
  assert.throws(() => imagesHtml([{ image: { pixels: px, width: 3, height: 2 } }]), /expected 3x2x3/);
});

test('tables: text is aligned, numbers are formatted, HTML is escaped', () => {
  const rows = [{ name: 'rock', f1: 0.98765, n: 12 }, { name: '<p>', f1: 1, n: 3 }];
  assert.equal(tableText(rows, { digits: 2 }), ['name  f1    n', '----  ----  --', 'rock  0.99  12', '<p>   1     3'].join('\n'));
  const html = tableHtml(rows, { caption: 'Scores' });
  assert.ok(html.includes('<caption') && html.includes('&lt;p&gt;') && html.includes('0.9877'));
});

test('outside a kernel the helpers print a text fallback', (t) => {
  const lines: string[] = [];
  t.mock.method(console, 'log', (s: string) => lines.push(s));
  showTable([{ a: 1 }]);
  showFigure({ data: [], layout: { title: 'Empty' } });
  assert.deepEqual(lines, ['a\n-\n1', '[Empty: 0 trace(s)]']);
});

test('markdownHtml renders markdown', () => {
  assert.equal(markdownHtml('**b** `c`').trim(), '<p><strong>b</strong> <code>c</code></p>');
});
