// Least squares and shape swaps: src/model/shapes.ts swapShapes as one call, with the box-constrained
// least-squares colours (src/core/solve.ts) and the layer weights of a stack it needs. Sizes are
// checked by the caller (src/backend/nativeSwaps.ts) before it runs.
#include "kernels.h"

namespace stratum {

// ------------------------------------------------------------------ shape swaps
// src/model/shapes.ts swapShapes, the same loop in one call (its definition stays the reference:
// test/shapes.test.ts holds the two equal). Arithmetic follows the definition's: sums and colours
// in double, the arrays the definition keeps as Float32Array rounded to float where it stores them.
namespace shapeswaps {

// min ‖W C − y‖² over C in [0, 1]^{n×3} from A [n×n], B [n×3] (src/core/solve.ts boxLeastSquares)
void boxLeastSquares(const std::vector<double>& A, const std::vector<double>& B, int n, double ridge, const std::vector<double>& start, std::vector<double>& C) {
  const int m = 3;
  std::vector<double> Ar(A), L(n * n, 0.0), X(n * m, 0.0), y(n);
  for (int a = 0; a < n; a++) Ar[a * n + a] += ridge;
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) {
      double s = Ar[i * n + j];
      for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i == j) L[i * n + i] = std::sqrt(std::max(s, 1e-300));
      else L[i * n + j] = s / L[j * n + j];
    }
  for (int c = 0; c < m; c++) {
    for (int i = 0; i < n; i++) {
      double s = B[i * m + c];
      for (int k = 0; k < i; k++) s -= L[i * n + k] * y[k];
      y[i] = s / L[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
      double s = y[i];
      for (int k = i + 1; k < n; k++) s -= L[k * n + i] * X[k * m + c];
      X[i * m + c] = s / L[i * n + i];
    }
  }
  C.assign(n * m, 0.0);
  for (int t = 0; t < n; t++) {
    const bool empty = A[t * n + t] <= ridge;
    for (int k = 0; k < m; k++) C[t * m + k] = empty ? start[t * m + k] : std::min(1.0, std::max(0.0, X[t * m + k]));
  }
  for (int sweep = 0; sweep < 50; sweep++) {
    double moved = 0;
    for (int t = 0; t < n; t++) {
      const double d = A[t * n + t];
      if (d <= ridge) continue;
      for (int k = 0; k < m; k++) {
        double r = B[t * m + k];
        for (int s2 = 0; s2 < n; s2++) r -= A[t * n + s2] * C[s2 * m + k];
        const double next = std::min(1.0, std::max(0.0, C[t * m + k] + r / d));
        moved = std::max(moved, std::fabs(next - C[t * m + k]));
        C[t * m + k] = next;
      }
    }
    if (moved < 1e-9) break;
  }
}

// least-squares colours of a stack (src/model/refine.ts layerWeights + leastSquaresFit); returns the mse
// w_t = M_t · Π_{s>t} (1 − M_s), [T·P] (src/model/refine.ts layerWeights)
std::vector<float> layerWeights(const std::vector<const float*>& masks, int P) {
  const int T = (int)masks.size();
  std::vector<float> w((size_t)T * P), keep(P, 1.f);
  for (int t = T - 1; t >= 0; t--) {
    const float* m = masks[t];
    float* wt = &w[(size_t)t * P];
    for (int i = 0; i < P; i++) {
      wt[i] = (float)((double)m[i] * keep[i]);
      keep[i] = (float)((double)keep[i] * (1.0 - (double)m[i]));
    }
  }
  return w;
}

double fit(const std::vector<const float*>& masks, int P, const float* target, const std::vector<double>& previous, std::vector<double>& colours) {
  const int T = (int)masks.size();
  const std::vector<float> w = layerWeights(masks, P);
  std::vector<double> A(T * T), B(T * 3);
  for (int a = 0; a < T; a++) {
    const float* wa = &w[(size_t)a * P];
    for (int b = a; b < T; b++) {
      const float* wb = &w[(size_t)b * P];
      double s = 0;
      for (int i = 0; i < P; i++) s += (double)wa[i] * wb[i];
      A[a * T + b] = s;
      A[b * T + a] = s;
    }
    double r = 0, g = 0, bl = 0;
    for (int i = 0; i < P; i++) {
      r += (double)wa[i] * target[3 * i];
      g += (double)wa[i] * target[3 * i + 1];
      bl += (double)wa[i] * target[3 * i + 2];
    }
    B[a * 3] = r;
    B[a * 3 + 1] = g;
    B[a * 3 + 2] = bl;
  }
  double trace = 0;
  for (int a = 0; a < T; a++) trace += A[a * T + a];
  boxLeastSquares(A, B, T, 1e-9 * std::max(trace / std::max(T, 1), 1e-12), previous, colours);
  double se = 0;
  for (int i = 0; i < 3 * P; i++) se += (double)target[i] * target[i];
  for (int a = 0; a < T; a++)
    for (int k = 0; k < 3; k++) {
      const double xa = colours[a * 3 + k];
      double ax = 0;
      for (int b = 0; b < T; b++) ax += A[a * T + b] * colours[b * 3 + k];
      se += xa * (ax - 2 * B[a * 3 + k]);
    }
  return std::max(se, 0.0) / std::max(3 * P, 1);
}

}  // namespace shapeswaps

// swapShapes([T, S, D, maxSwaps, candidates, scoreExactly], db, masks [T·P], target [3P],
//            colours [T·3] (Float64Array, in/out), bankMasks [D·P], bankRows [D·2L], bankNorms [D],
//            origin (Int32Array [T], out)) -> swaps. Sizes checked by the caller (src/backend/nativeSwaps.ts).
Napi::Value SwapShapes(const Napi::CallbackInfo& info) {
  using namespace shapeswaps;
  const std::vector<int> dims = Ints(info[0]);
  const int T = dims[0], S = dims[1], D = dims[2], maxSwaps = dims[3], candidates = dims[4], scoreExactly = dims[5];
  const double db = info[1].As<Napi::Number>().DoubleValue();
  const float* masksIn = F32(info[2]);
  const float* target = F32(info[3]);
  double* coloursIO = info[4].As<Napi::Float64Array>().Data();
  const float* bankMasks = F32(info[5]);
  const float* bankRows = F32(info[6]);
  const float* bankNorms = F32(info[7]);
  int32_t* originOut = info[8].As<Napi::Int32Array>().Data();
  const int P = S * S, f = S % 2 ? 1 : 2, low = S / f, L = low * low;
  const double inv = 1.0 / (f * f);
  std::vector<const float*> masks(T);
  std::vector<int> origin(T), ident(T);
  for (int t = 0; t < T; t++) masks[t] = masksIn + (size_t)t * P, origin[t] = t, ident[t] = t;
  int nextIdent = T;
  std::vector<double> colours(coloursIO, coloursIO + 3 * T);
  // the starting mse with the given colours (mseOfColours(layerWeights(masks), colours, target))
  double mse;
  {
    // the definition sums layer by layer into a Float32Array image, bottom first
    std::vector<float> im(3 * (size_t)P, 0.f);
    const std::vector<float> wt = layerWeights(masks, P);
    for (int t = 0; t < T; t++)
      for (int i = 0; i < P; i++)
        for (int k = 0; k < 3; k++) im[3 * i + k] = (float)((double)im[3 * i + k] + colours[t * 3 + k] * wt[(size_t)t * P + i]);
    double s = 0;
    for (int i = 0; i < 3 * P; i++) s += ((double)im[i] - target[i]) * ((double)im[i] - target[i]);
    mse = s / (3.0 * P);
  }
  std::vector<char> failed((size_t)T + maxSwaps + 1, 0);
  std::vector<std::vector<float>> canvases(T, std::vector<float>(3 * (size_t)P)), above(T, std::vector<float>(P));
  std::vector<float> keep(P), zero(3 * (size_t)P, 0.f);
  int swaps = 0;
  struct Cand { int t; double se; };
  struct Top { int d, j; double e; };
  while (swaps < maxSwaps && T > 0) {
    for (int t = 0; t < T; t++) {
      float* c = canvases[t].data();
      const float* m = masks[t];
      const double c0 = colours[t * 3], c1 = colours[t * 3 + 1], c2 = colours[t * 3 + 2];
      if (t == 0) std::fill(canvases[0].begin(), canvases[0].end(), 0.f);
      else std::memcpy(c, canvases[t - 1].data(), sizeof(float) * 3 * P);
      // as src/core/stack.ts blendLayerInto: c·(1 − m) + colour·m
      for (int q = 0, i = 0; q < P; q++, i += 3) {
        const double a = m[q], k = 1.0 - a;
        c[i] = (float)(c[i] * k + c0 * a);
        c[i + 1] = (float)(c[i + 1] * k + c1 * a);
        c[i + 2] = (float)(c[i + 2] * k + c2 * a);
      }
    }
    std::fill(keep.begin(), keep.end(), 1.f);
    for (int t = T - 1; t >= 0; t--) {
      std::memcpy(above[t].data(), keep.data(), sizeof(float) * P);
      for (int q = 0; q < P; q++) keep[q] = (float)((double)keep[q] * (1.0 - (double)masks[t][q]));
    }
    const float* fin = canvases[T - 1].data();
    double base = 0;
    for (int i = 0; i < 3 * P; i++) base += ((double)fin[i] - target[i]) * ((double)fin[i] - target[i]);
    auto without = [&](int t, float* J) {
      const float* m = masks[t];
      const float* K = above[t].data();
      const float* under = t > 0 ? canvases[t - 1].data() : zero.data();
      const double c0 = colours[t * 3], c1 = colours[t * 3 + 1], c2 = colours[t * 3 + 2];
      double se = 0;
      for (int q = 0, i = 0; q < P; q++, i += 3) {
        const double w = (double)m[q] * K[q];
        const double j0 = fin[i] - w * (c0 - under[i]), j1 = fin[i + 1] - w * (c1 - under[i + 1]), j2 = fin[i + 2] - w * (c2 - under[i + 2]);
        if (J) J[i] = (float)j0, J[i + 1] = (float)j1, J[i + 2] = (float)j2;
        const double d0 = j0 - target[i], d1 = j1 - target[i + 1], d2 = j2 - target[i + 2];
        se += d0 * d0 + d1 * d1 + d2 * d2;
      }
      return se;
    };
    std::vector<Cand> loo;
    for (int t = 0; t < T; t++) {
      if (failed[ident[t]]) continue;
      const double se = without(t, nullptr);
      if (10 * std::log10(std::max(se, 1e-12) / std::max(base, 1e-12)) < db) loo.push_back({t, se});
    }
    if (loo.empty()) break;
    std::stable_sort(loo.begin(), loo.end(), [](const Cand& a, const Cand& b) { return a.se < b.se; });
    if ((int)loo.size() > candidates) loo.resize(candidates);
    const int nc = (int)loo.size(), N = 6 * nc;
    std::vector<std::vector<float>> Js(nc, std::vector<float>(3 * (size_t)P));
    std::vector<float> v((size_t)2 * L * N, 0.f);
    for (int j = 0; j < nc; j++) {
      float* J = Js[j].data();
      without(loo[j].t, J);
      for (int y = 0; y < low; y++)
        for (int x = 0; x < low; x++) {
          const size_t o = (size_t)(y * low + x) * N + 6 * j, o2 = o + (size_t)L * N;
          for (int k = 0; k < 3; k++) {
            double rj = 0, r = 0, jj = 0, jv = 0;
            for (int dy = 0; dy < f; dy++)
              for (int dx = 0; dx < f; dx++) {
                const int i = 3 * ((f * y + dy) * S + f * x + dx) + k;
                const double Jv = J[i], rv = target[i] - Jv;
                rj += rv * Jv, r += rv, jj += Jv * Jv, jv += Jv;
              }
            v[o + k] = (float)(2 * rj * inv);
            v[o + 3 + k] = (float)(r * inv);
            v[o2 + k] = (float)(jj * inv);
            v[o2 + 3 + k] = (float)(jv * inv);
          }
        }
    }
    std::vector<float> out((size_t)D * N);
    {
      const int threads = openblas_get_num_threads();
      openblas_set_num_threads(1);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, 2 * L, 1.f, bankRows, 2 * L, v.data(), N, 0.f, out.data(), N);
      openblas_set_num_threads(threads);
    }
    const double scale = (double)P / L;
    std::vector<Top> top;
    for (int d = 0; d < D; d++) {
      for (int j = 0; j < nc; j++) {
        const size_t b = (size_t)d * N + 6 * j;
        const double n2 = std::max((double)bankNorms[d] / scale, 1e-9);
        double e = loo[j].se / scale;
        for (int k = 0; k < 3; k++) e += (double)out[b + k] - (double)out[b + 3 + k] * out[b + 3 + k] / n2;
        if ((int)top.size() < scoreExactly || e < top.back().e) {
          top.push_back({d, j, e});
          std::stable_sort(top.begin(), top.end(), [](const Top& a, const Top& b) { return a.e < b.e; });
          if ((int)top.size() > scoreExactly) top.pop_back();
        }
      }
    }
    int bd = -1, bj = -1;
    double be = INFINITY;
    for (const Top& tp : top) {
      const float* m = bankMasks + (size_t)tp.d * P;
      const float* J = Js[tp.j].data();
      const double n2 = std::max((double)bankNorms[tp.d], 1e-9);
      double a = 0, e0 = 0, e1 = 0, e2 = 0;
      for (int q = 0, i = 0; q < P; q++, i += 3) {
        const double mq = m[q];
        if (mq == 0) continue;
        const double J0 = J[i], J1 = J[i + 1], J2 = J[i + 2];
        const double r0 = target[i] - J0, r1 = target[i + 1] - J1, r2 = target[i + 2] - J2;
        a += mq * (2 * (r0 * J0 + r1 * J1 + r2 * J2) + mq * (J0 * J0 + J1 * J1 + J2 * J2));
        e0 += mq * (r0 + mq * J0), e1 += mq * (r1 + mq * J1), e2 += mq * (r2 + mq * J2);
      }
      double e = a - (e0 * e0 + e1 * e1 + e2 * e2) / n2;
      for (double E : {e0, e1, e2}) {
        const double c = E / n2, k = std::min(1.0, std::max(0.0, c));
        e += n2 * (k - c) * (k - c);
      }
      e += loo[tp.j].se;
      if (e < be) be = e, bd = tp.d, bj = tp.j;
    }
    const int u = loo[bj].t;
    std::vector<const float*> m2;
    std::vector<double> prev;
    for (int t = 0; t < T; t++)
      if (t != u) m2.push_back(masks[t]), prev.insert(prev.end(), colours.begin() + 3 * t, colours.begin() + 3 * t + 3);
    m2.push_back(bankMasks + (size_t)bd * P);
    prev.insert(prev.end(), colours.begin() + 3 * u, colours.begin() + 3 * u + 3);
    std::vector<double> c2;
    const double e2 = fit(m2, P, target, prev, c2);
    if (e2 < mse * (1 - 1e-6)) {
      std::vector<int> o2, i2;
      for (int t = 0; t < T; t++)
        if (t != u) o2.push_back(origin[t]), i2.push_back(ident[t]);
      o2.push_back(-1 - bd);
      i2.push_back(nextIdent++);
      masks = m2, colours = c2, origin = o2, ident = i2, mse = e2;
      swaps++;
    } else failed[ident[u]] = 1;
  }
  for (int t = 0; t < T; t++) originOut[t] = origin[t];
  std::memcpy(coloursIO, colours.data(), sizeof(double) * 3 * T);
  return Napi::Number::New(info.Env(), swaps);
}

}  // namespace stratum
