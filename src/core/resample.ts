/**
 * Area (box-filter) resampling of an image held in memory: each output cell is the mean of the
 * source area it covers, each source pixel weighted by its overlap. Pure arithmetic, no I/O, so
 * the browser editor and the library resize a frame with the same numbers.
 */

/**
 * Area (box-filter) resampling weights along one axis: output cell i covers source interval
 * [x0 + i·len/n, x0 + (i+1)·len/n); each source pixel it overlaps gets its share of the overlap.
 */
function areaWeights(x0: number, len: number, n: number, srcLen: number): { start: number; w: Float32Array }[] {
  const step = len / n;
  const out: { start: number; w: Float32Array }[] = [];
  for (let i = 0; i < n; i++) {
    const a = x0 + i * step;
    const b = a + step;
    const s = Math.max(0, Math.floor(a));
    const e = Math.min(srcLen, Math.ceil(b));
    const w = new Float32Array(Math.max(1, e - s));
    let tot = 0;
    for (let k = s; k < e; k++) {
      const ov = Math.min(b, k + 1) - Math.max(a, k);
      w[k - s] = Math.max(0, ov);
      tot += w[k - s]!;
    }
    if (tot > 0) for (let k = 0; k < w.length; k++) w[k]! /= tot;
    else w[0] = 1;
    out.push({ start: Math.min(s, srcLen - 1), w });
  }
  return out;
}

/** resample the source rectangle (x0, y0, cw × ch, fractional) of an image with `chans` channels to n × n floats */
export function resampleArea(src: ArrayLike<number>, sw: number, sh: number, chans: number, x0: number, y0: number, cw: number, ch: number, nw: number, nh: number, flip = false): Float32Array {
  const wx = areaWeights(x0, cw, nw, sw);
  const wy = areaWeights(y0, ch, nh, sh);
  const rows = new Float32Array(nw * chans);
  const out = new Float32Array(nw * nh * chans);
  for (let oy = 0; oy < nh; oy++) {
    const { start: ys, w: yw } = wy[oy]!;
    for (let oxi = 0; oxi < nw; oxi++) {
      const { start: xs, w: xw } = wx[oxi]!;
      rows.fill(0, 0, chans);
      for (let j = 0; j < yw.length; j++) {
        const wyj = yw[j]!;
        if (wyj === 0) continue;
        const rowOff = (ys + j) * sw;
        for (let i = 0; i < xw.length; i++) {
          const wgt = wyj * xw[i]!;
          if (wgt === 0) continue;
          const p = (rowOff + xs + i) * chans;
          for (let c = 0; c < chans; c++) rows[c]! += wgt * src[p + c]!;
        }
      }
      const ox = flip ? nw - 1 - oxi : oxi;
      for (let c = 0; c < chans; c++) out[(oy * nw + ox) * chans + c] = rows[c]!;
    }
  }
  return out;
}
