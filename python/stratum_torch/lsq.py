"""Least-squares colours inside the loss (src/core/blend.ts leastSquaresBlend, src/core/solve.ts
boxSolve), the same algorithm and the same gradient as Stratum's:

The image is linear in the colours, I = Σ_t c_t w_t with w_t = M_t Π_{s>t} (1 − M_s), so for given
masks the best colours a document can hold minimise ‖W C − y‖² over C in [0, 1]: from A = WᵀW and
B = Wᵀy (float64, on the CPU whatever the device), Cholesky on the normal equations with a
relative ridge, clamped, then projected coordinate descent (at most 50 sweeps, an image stops when
no colour moved by 1e-9). The gradient comes from the solution's free set F (entries strictly
inside the box): with u = A_FF⁻¹ dC_F per channel, dB_F = u, dA = −(u Cᵀ + C uᵀ)/2."""
import numpy as np
import torch


def _ridge(A, ridge):
    """the ridge relative to each item's mean diagonal, [bt]"""
    return ridge * np.maximum(np.einsum("bii->b", A) / A.shape[1], 1e-12)


def cholesky_solve(A, B):
    """A X = B for a batch of symmetric positive definite A [bt, n, n], B [bt, n, m] (a pivot below 1e-300 is floored, as Stratum's)"""
    bt, n, _ = A.shape
    L = np.zeros_like(A)
    for i in range(n):
        for j in range(i + 1):
            s = A[:, i, j] - np.einsum("bk,bk->b", L[:, i, :j], L[:, j, :j])
            L[:, i, j] = np.sqrt(np.maximum(s, 1e-300)) if i == j else s / L[:, j, j]
    y = np.zeros_like(B)
    for i in range(n):
        y[:, i] = (B[:, i] - np.einsum("bk,bkm->bm", L[:, i, :i], y[:, :i])) / L[:, i, i][:, None]
    X = np.zeros_like(B)
    for i in range(n - 1, -1, -1):
        X[:, i] = (y[:, i] - np.einsum("bk,bkm->bm", L[:, i + 1:, i], X[:, i + 1:])) / L[:, i, i][:, None]
    return X


def box_least_squares(A, B, ridge):
    """min ‖W C − y‖² over C in [0, 1] from A = WᵀW (symmetric) [bt, n, n] and B = Wᵀy [bt, n, m], float64"""
    bt, n, m = B.shape
    r = _ridge(A, ridge)
    diag = np.einsum("bii->bi", A)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        X = cholesky_solve(A + r[:, None, None] * np.eye(n), B)
    # a Gram matrix made indefinite by rounding can overflow the starting solve to NaN: that colour
    # starts at 0 (as Stratum's), and the descent below still finds it
    X = np.where(np.isnan(X), 0.0, X)
    live = diag > r[:, None]  # a layer covering nothing keeps colour 0
    C = np.where(live[:, :, None], np.clip(X, 0, 1), 0.0)
    active = np.ones(bt, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(50):
            moved = np.zeros(bt)
            for t in range(n):
                go = live[:, t] & active
                res = B[:, t] - np.einsum("bs,bsk->bk", A[:, t], C)
                nxt = np.clip(C[:, t] + res / diag[:, t, None], 0, 1)
                moved = np.where(go, np.maximum(moved, np.abs(nxt - C[:, t]).max(1)), moved)
                C[:, t] = np.where(go[:, None], nxt, C[:, t])
            active &= ~(moved < 1e-9)
            if not active.any():
                break
    return C


class BoxSolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx, A, B, ridge):
        a = A.detach().cpu().double().numpy()
        a = (a + a.transpose(0, 2, 1)) / 2
        C = torch.from_numpy(box_least_squares(a, B.detach().cpu().double().numpy(), ridge)).to(B.dtype).to(B.device)
        ctx.ridge = ridge
        ctx.save_for_backward(A, C)
        return C

    @staticmethod
    def backward(ctx, dC):
        A, C = ctx.saved_tensors
        a = A.detach().cpu().double().numpy()
        a = (a + a.transpose(0, 2, 1)) / 2
        c = C.detach().cpu().numpy()  # the float32 solution decides the free set, as in Stratum
        dc = dC.detach().cpu().double().numpy()
        bt, n, m = c.shape
        r = _ridge(a, ctx.ridge)
        free = (c > 1e-7) & (c < 1 - 1e-7) & (np.einsum("bii->bi", a) > r[:, None])[:, :, None]  # [bt, n, m]
        # per channel, the free block A_FF + r·I with the identity elsewhere: its solution is A_FF⁻¹ dC_F on F and 0 off it
        f = free.transpose(0, 2, 1).reshape(bt * m, n)
        rr = np.repeat(r, m)
        M = np.where(f[:, :, None] & f[:, None, :], np.repeat(a, m, 0), 0.0) + np.eye(n) * np.where(f, rr[:, None], 1.0)[:, :, None]
        u = cholesky_solve(M, np.where(f, dc.transpose(0, 2, 1).reshape(bt * m, n), 0.0)[:, :, None])[:, :, 0]
        u = u.reshape(bt, m, n).transpose(0, 2, 1)  # [bt, n, m]
        g = np.einsum("bik,bjk->bij", u, c.astype(np.float64))
        dA = -(g + g.transpose(0, 2, 1)) / 2
        to = lambda x: torch.from_numpy(x).to(A.dtype).to(A.device)
        return to(dA), to(u), None


def blend_weights(m):
    """each layer's weight in the blend from black, w_t = M_t · exp(Σ_{s>t} log(1 − M_s)), layers along the last axis (M capped at 1 − 1e-6 in the log)"""
    log_keep = torch.log(1 - torch.clamp(m, max=1 - 1e-6))
    upto = torch.flip(torch.cumsum(torch.flip(log_keep, [-1]), -1), [-1])  # Σ_{s≥t}
    after = torch.cat([upto[..., 1:], torch.zeros_like(upto[..., :1])], -1)  # Σ_{s>t}
    return m * torch.exp(after)


def least_squares_blend(masks, target, ridge=1e-4):
    """masks [B, P, T], target [B, P, 3] -> image [B, P, 3], colours [B, T, 3]"""
    w = blend_weights(masks)
    colours = BoxSolve.apply(w.transpose(1, 2) @ w, w.transpose(1, 2) @ target, ridge)
    return w @ colours, colours


def least_squares_canvas(masks, target, ridge=1e-4):
    """for a layer loop's masks, each [B, 1, S, S], and target [B, 3, S, S]: the canvas painted with least-squares colours [B, 3, S, S]"""
    B, _, S, _ = target.shape
    m = torch.cat(masks, 1).flatten(2).transpose(1, 2)  # [B, P, T]
    y = target.flatten(2).transpose(1, 2)  # [B, P, 3]
    image, _ = least_squares_blend(m, y, ridge)
    return image.transpose(1, 2).reshape(B, 3, S, S)
