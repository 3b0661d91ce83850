import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossCurveSvg, lossCurveText } from '../../src/tasks/loss-curve.js';

test('loss curve renders train and validation series to SVG', async () => {
  const points = [
    ...Array.from({ length: 100 }, (_, i) => ({ step: i, value: 5 * Math.exp(-i / 20) + 1, series: 'train' })),
    ...[0, 50, 99].map((step) => ({ step, value: 5 * Math.exp(-step / 25) + 1.2, series: 'validation' })),
  ];
  const svg = await lossCurveSvg(points, { title: 'GPT pretraining' });
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /GPT pretraining/);
  assert.match(svg, /validation/);
  assert.ok((svg.match(/<path/g) ?? []).length >= 2, 'one path per series at least');
});

test('terminal loss curve has the requested height and shows the range', () => {
  const text = lossCurveText(Array.from({ length: 500 }, (_, i) => 4 - i / 200), 8);
  const lines = text.split('\n');
  assert.equal(lines.length, 9);
  assert.match(lines[0]!, /3\.98/); // the first bucket averages the first steps
  assert.match(lines[8]!, /1\.52/);
  assert.equal(lossCurveText([1]), '');
});
