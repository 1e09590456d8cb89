"""Drawing of each finding where it occurs and as it looks, on the anatomy layers.

Every draw function edits the layers (mostly L["extra"], the added density) and returns the
instance mask (bool HxW) and the regions it involves. Contrast scales with spec.amp, which the
severity sets (mild findings are small *and* faint; see findings_sample._AMP).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .anatomy import EPS, SIDES, lung_sdf, rib_field
from .findings_sample import FindingSpec
from .geometry import Geometry
from .raster import ellipse_sdf, polyline_field, smoothstep

ZONES = ("upper", "mid", "lower")


def zone_masks(g: Geometry, L: dict) -> dict:
    V = L["V"]
    out = {}
    for side in SIDES:
        lm = L["lung_" + side] > 0.5
        span = g.cpa_v(side) - g.apex
        c1, c2 = g.apex + span / 3, g.apex + 2 * span / 3
        out[f"{side} upper lung zone"] = lm & (V < c1)
        out[f"{side} mid lung zone"] = lm & (V >= c1) & (V < c2)
        out[f"{side} lower lung zone"] = lm & (V >= c2)
        out[f"{side} apical zone"] = lm & (V < g.apex + 0.2 * span)
    return out


def lung_regions(mask: np.ndarray, sides, zones: dict, lead: list | None = None) -> list:
    """The side's lung plus the zones holding >= 10% of the instance (most involved first)."""
    regs = list(lead or [])
    area = max(int(mask.sum()), 1)
    for side in sides:
        if f"{side} lung" not in regs:
            regs.append(f"{side} lung")
        scored = []
        for z in ("upper lung zone", "mid lung zone", "lower lung zone", "apical zone"):
            frac = float((mask & zones[f"{side} {z}"]).sum()) / area
            if frac >= 0.1:
                scored.append((frac, f"{side} {z}"))
        regs += [n for _, n in sorted(scored, reverse=True) if n not in regs]
    return regs


def _sides(spec: FindingSpec):
    return SIDES if spec.side == "bilateral" else (spec.side,)


def _pick_point(rng, mask: np.ndarray, L: dict):
    idx = np.flatnonzero(mask.ravel())
    if idx.size == 0:
        idx = np.flatnonzero((L["lung_right"] + L["lung_left"]).ravel() > 0.5)
    i = idx[int(rng.integers(idx.size))]
    return float(L["U"].ravel()[i]), float(L["V"].ravel()[i])


def _smooth_noise(rng, S: int, sigma_frac: float) -> np.ndarray:
    n = gaussian_filter(rng.standard_normal((S, S)).astype(np.float32), sigma_frac * S)
    return n / (n.std() + 1e-6)


def draw_cardiomegaly(spec, g, L, rng, zones):
    return (L["heart"] > 0.5) & (L["V"] < g.dome_peak("left") + 0.02), ["cardiac silhouette"]


def draw_ecm(spec, g, L, rng, zones):
    top = g.heart_extent()[1]
    m = (L["mediastinum"] > 0.5) & (L["V"] < top + 0.02) & (L["V"] > g.apex - 0.02)
    return m, ["mediastinum", "upper mediastinum"]


def draw_effusion(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    mask = np.zeros(U.shape, bool)
    regs = []
    for side in _sides(spec):
        h = {"mild": (0.025, 0.045), "moderate": (0.07, 0.11), "severe": (0.14, 0.22)}[spec.severity]
        h = rng.uniform(*h)
        dn = np.clip(g.side_sign(side) * (U - g.cx) / g.W, 0, 1.2)
        top = g.cpa_v(side) - h * (0.5 + 0.8 * dn * dn)
        hemi = smoothstep(lung_sdf(g, side, U, V), EPS) * (1.0 - L["heart"])
        fluid = hemi * smoothstep(V - top, 0.006 + 0.01 * (spec.severity == "severe"))
        L["extra"] += spec.amp * 0.95 * g.air * fluid
        L["markings_" + side] *= 1.0 - 0.8 * fluid
        m = fluid > 0.4
        mask |= m
        regs += lung_regions(m, [side], zones, [f"{side} costophrenic angle", f"{side} hemidiaphragm"])
    return mask, regs


def _airspace(spec, g, L, rng, zones, patchy: bool):
    U, V = L["U"], L["V"]
    S = U.shape[0]
    side = spec.side
    zone = rng.choice(ZONES, p=[0.2, 0.3, 0.5])
    inner = zones[f"{side} {zone} lung zone"] & (lung_sdf(g, side, U, V) > 0.02)
    cu, cv = _pick_point(rng, inner if inner.any() else zones[f"{side} {zone} lung zone"], L)
    r = {"mild": (0.03, 0.045), "moderate": (0.05, 0.07), "severe": (0.08, 0.12)}[spec.severity]
    rx, ry = rng.uniform(*r), rng.uniform(*r)
    noise = _smooth_noise(rng, S, 0.03)
    sdf = ellipse_sdf(U, V, cu, cv, rx, ry, rng.uniform(0, np.pi)) + 0.012 * noise
    blob = smoothstep(sdf, 0.01 if patchy else 0.005) * L["lung_" + side]
    if patchy:
        fine = _smooth_noise(rng, S, 0.012)
        blob *= np.clip(0.55 + 0.35 * fine, 0, 1)
    dens = spec.amp * g.air * (0.65 if patchy else 0.85)
    L["extra"] += dens * blob
    if not patchy and spec.severity != "mild":
        # air bronchograms: dark branching tubes inside the consolidation
        hx, hy = g.hilum(side)
        fr = g.frame
        bron = np.zeros(U.shape, np.float32)
        a0 = np.arctan2(cv - hy, cu - hx)
        for j in range(3):
            a = a0 + rng.normal(0, 0.25)
            off = (j - 1) * 0.45 * min(rx, ry)
            ou, ov = -np.sin(a0) * off, np.cos(a0) * off
            p0 = (cu + ou - 0.6 * rx * np.cos(a), cv + ov - 0.6 * ry * np.sin(a))
            p1 = (cu + ou + 0.6 * rx * np.cos(a), cv + ov + 0.6 * ry * np.sin(a))
            bron = np.maximum(
                bron, polyline_field(U.shape, fr.to_pixels([p0, p1]), [fr.length_px(0.004), fr.length_px(0.0015)])
            )
        L["extra"] -= 0.6 * dens * bron * blob
    m = blob > 0.35
    return m, lung_regions(m, [side], zones)


def draw_consolidation(spec, g, L, rng, zones):
    return _airspace(spec, g, L, rng, zones, patchy=False)


def draw_pneumonia(spec, g, L, rng, zones):
    return _airspace(spec, g, L, rng, zones, patchy=True)


def draw_atelectasis(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    side, sg = spec.side, g.side_sign(spec.side)
    fr = g.frame
    lung = L["lung_" + side]
    if spec.severity == "severe":
        # lobar collapse: a wedge from the hilum to the base, with volume loss (raised dome)
        hx, hy = g.hilum(side)
        base_v = g.dome_peak(side)
        apex_pt = np.array([hx, hy])
        b1 = np.array([g.cx + sg * (g.mw + 0.03), base_v + 0.03])
        b2 = np.array([g.cx + sg * rng.uniform(0.45, 0.6) * g.W, base_v + 0.03])
        P = np.stack([U, V], -1)
        inside = np.ones(U.shape, np.float32)
        tri = [apex_pt, b1, b2]
        for i in range(3):
            a, b, c = tri[i], tri[(i + 1) % 3], tri[(i + 2) % 3]
            n = np.array([-(b - a)[1], (b - a)[0]])
            n /= np.linalg.norm(n)
            if np.dot(c - a, n) < 0:
                n = -n
            inside *= smoothstep((P - a) @ n, 0.006)
        field = inside * lung
        L["extra"] += spec.amp * g.air * 0.75 * field
    else:
        # plate-like (discoid) band in the lower zone
        span = g.cpa_v(side) - g.apex
        v0 = g.apex + span * rng.uniform(0.68, 0.85)
        d0 = rng.uniform(0.3, 0.55) * g.W
        length = rng.uniform(0.08, 0.14)
        tilt = rng.normal(0, 0.02)
        p0 = (g.cx + sg * d0, v0)
        p1 = (g.cx + sg * (d0 + length), v0 + tilt)
        th = rng.uniform(0.004, 0.006) if spec.severity == "mild" else rng.uniform(0.008, 0.012)
        field = polyline_field(U.shape, fr.to_pixels([p0, p1]), fr.length_px(th), soft=1.2) * lung
        L["extra"] += spec.amp * g.air * 0.8 * field
    m = field > 0.35
    return m, lung_regions(m, [side], zones)


def draw_edema(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    S = U.shape[0]
    R = {"mild": 0.11, "moderate": 0.15, "severe": 0.2}[spec.severity] * rng.uniform(0.9, 1.1)
    k = {"mild": 0.45, "moderate": 0.6, "severe": 0.8}[spec.severity]
    noise = np.clip(0.75 + 0.25 * _smooth_noise(rng, S, 0.02), 0, 1.2)
    mask = np.zeros(U.shape, bool)
    for side in SIDES:
        hx, hy = g.hilum(side)
        r2 = ((U - hx) / 1.3) ** 2 + (V - hy - 0.02) ** 2
        haze = np.exp(-r2 / (R * R)) * L["lung_" + side]
        L["extra"] += spec.amp * g.air * k * haze * noise
        # vascular indistinctness: markings blurred into the haze
        L["markings_" + side] *= 1.0 - 0.5 * haze
        mask |= haze > 0.3
    if spec.severity != "mild":
        # Kerley B lines: short horizontal lines at the lateral bases
        fr = g.frame
        for side in SIDES:
            sg = g.side_sign(side)
            for j in range(4):
                v = g.cpa_v(side) - 0.02 - 0.012 * j
                p = fr.to_pixels([(g.cx + sg * (g.W - 0.002), v), (g.cx + sg * (g.W - 0.025), v)])
                L["extra"] += 0.05 * spec.amp * polyline_field(U.shape, p, 0.5, soft=0.5) * L["lung_" + side]
    regs = ["right hilar structures", "left hilar structures"]
    return mask, lung_regions(mask, SIDES, zones, regs)


def draw_pneumothorax(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    side, sg = spec.side, g.side_sign(spec.side)
    lo, hi = {"mild": (0.87, 0.91), "moderate": (0.74, 0.8), "severe": (0.55, 0.65)}[spec.severity]
    f = rng.uniform(lo, hi)
    if spec.severity == "mild":
        au, av = g.cx + sg * (g.d_apex + 0.02), g.cpa_v(side)
    else:
        au, av = g.hilum(side)
    Uc, Vc = au + (U - au) / f, av + (V - av) / f
    sdf_c = lung_sdf(g, side, Uc, Vc) * f
    hollow = (1.0 - L["heart"]) * (1.0 - L["knob"])
    collapsed = smoothstep(sdf_c, EPS) * hollow
    orig = L["lung_" + side]
    space = np.clip(orig - collapsed, 0.0, 1.0)
    L["markings_" + side] *= collapsed
    line = np.exp(-((sdf_c / 0.0022) ** 2)) * orig
    L["extra"] += spec.amp * (0.1 * line - 0.06 * space) + 0.12 * (1 - f) * collapsed
    m = space > 0.5
    return m, lung_regions(m, [side], zones)


def draw_lesion(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    side = spec.side
    r = {"mild": (0.010, 0.015), "moderate": (0.018, 0.028), "severe": (0.04, 0.065)}[spec.severity]
    r = rng.uniform(*r)
    inner = (lung_sdf(g, side, U, V) > r + 0.01) & (L["lung_" + side] > 0.5)
    cu, cv = _pick_point(rng, inner, L)
    sdf = ellipse_sdf(U, V, cu, cv, r * rng.uniform(0.9, 1.1), r * rng.uniform(0.9, 1.1), rng.uniform(0, np.pi))
    if spec.kind == "mass":  # lobulated margin
        ang = np.arctan2(V - cv, U - cu)
        sdf = sdf + 0.15 * r * np.sin(3 * ang + rng.uniform(0, 6.28)) + 0.1 * r * np.sin(5 * ang)
    blob = smoothstep(sdf, 0.002 + 0.05 * r)
    dens = spec.amp * g.air * (0.55 + 0.3 * (spec.kind == "mass"))
    L["extra"] += dens * blob * np.clip(0.4 + 0.6 * L["lung_" + side], 0, 1)
    m = blob > 0.5
    return m, lung_regions(m, [side], zones)


def draw_fracture(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    side, sg = spec.side, g.side_sign(spec.side)
    k = int(rng.integers(3, 8))
    dn = rng.uniform(0.55, 0.92)
    d = dn * g.W
    v_rib = g.W * (-0.3 * dn + 0.8 * dn * dn) + g.rib_r0 + (k + 0.18) * g.rib_sp
    params = {"mild": (0.0, 0.003, 0.65), "moderate": (0.003, 0.004, 0.85), "severe": (0.006, 0.006, 1.0)}
    step, gap, depth = params[spec.severity]
    frac = {"v": v_rib, "d": d, "step": step, "gap": gap, "depth": depth}
    L["ribs_" + side] = rib_field(g, side, U, V, fracture=frac)
    dd = sg * (U - g.cx)
    m = (np.abs(dd - d) < 2 * gap + 0.006) & (np.abs(V - v_rib) < 0.5 * g.rib_sp)
    if spec.severity == "severe":  # callus / overlapping fragments
        L["extra"] += 0.03 * smoothstep(ellipse_sdf(U, V, g.cx + sg * d, v_rib, 0.012, 0.01), 0.004)
    zone_mask = m & ((L["lung_" + side] > 0.5) | True)
    regs = lung_regions(zone_mask, [side], zones)
    if len(regs) == 1:  # outside every zone (lateral chest wall): nearest zone by height
        span = g.cpa_v(side) - g.apex
        z = ZONES[min(2, max(0, int((v_rib - g.apex) / span * 3)))]
        regs.append(f"{side} {z} lung zone")
    return m, regs


def draw_pleural_other(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    side = spec.side
    th = {"mild": 0.006, "moderate": 0.011, "severe": 0.018}[spec.severity]
    sdf = lung_sdf(g, side, U, V)
    span = g.cpa_v(side) - g.apex
    if rng.random() < 0.3:  # apical cap
        sel = smoothstep(g.apex + 0.25 * span - V, 0.01)
        spec.extra["where"] = "apical"
    else:  # lateral chest wall
        v0 = g.apex + span * rng.uniform(0.3, 0.55)
        v1 = v0 + span * rng.uniform(0.2, 0.4)
        sel = smoothstep(V - v0, 0.01) * smoothstep(v1 - V, 0.01)
        sel = sel * smoothstep(g.side_sign(side) * (U - g.cx) - 0.5 * g.W, 0.01)
        spec.extra["where"] = "lateral"
    band = smoothstep(sdf, EPS) * smoothstep(th - sdf, 0.003) * sel
    L["extra"] += spec.amp * g.air * 0.85 * band
    m = band > 0.4
    return m, lung_regions(m, [side], zones)


def draw_device(spec, g, L, rng, zones):
    U, V = L["U"], L["V"]
    fr = g.frame
    sh = U.shape
    if spec.kind == "endotracheal tube":
        tx = g.trachea_x()
        tip = g.carina_v - rng.uniform(0.03, 0.065)
        f = np.zeros(sh, np.float32)
        for off in (-0.006, 0.006):
            f = np.maximum(
                f, polyline_field(sh, fr.to_pixels([(tx + off, -0.1), (tx + off * 0.9, tip)]), fr.length_px(0.0018))
            )
        f = np.maximum(
            f, 0.8 * polyline_field(sh, fr.to_pixels([(tx - 0.002, -0.1), (tx - 0.002, tip)]), fr.length_px(0.0012))
        )
        amp, regs = 0.22, ["trachea", "carina"]
    elif spec.kind == "central venous catheter":
        top = g.heart_extent()[1]
        x_svc = g.cx + g.med_off - g.mw + 0.015
        pts = [
            (g.cx - 0.24, g.clav_v[1] + 0.03),
            (g.cx - 0.12, g.clav_v[0] + 0.01),
            (x_svc, g.clav_v[0] + 0.045),
            (x_svc, top + rng.uniform(0.02, 0.05)),
        ]
        f = polyline_field(sh, fr.to_pixels(pts), fr.length_px(0.0028))
        amp, regs = 0.2, ["svc", "cavoatrial junction"]
    else:  # pacemaker: generator in the left upper chest, leads into the right atrium and ventricle
        gx, gy = g.cx + rng.uniform(0.18, 0.25), g.clav_v[1] + rng.uniform(0.05, 0.08)
        gen = smoothstep(0.022 - np.maximum(np.abs(U - gx) / 1.35, np.abs(V - gy)), 0.004)
        hcx, hcy, rx, ry, _ = g.heart()
        top = g.heart_extent()[1]
        x_svc = g.cx + g.med_off - g.mw + 0.02
        common = [(gx - 0.02, gy), (g.cx + 0.06, g.clav_v[0]), (x_svc, g.clav_v[0] + 0.05), (x_svc, top + 0.03)]
        ra = common + [(hcx - 0.55 * rx, hcy - 0.2 * ry)]
        rv = common + [(hcx - 0.2 * rx, hcy + 0.2 * ry), (hcx + 0.35 * rx, hcy + 0.55 * ry)]
        leads = np.maximum(
            polyline_field(sh, fr.to_pixels(ra), fr.length_px(0.0022)),
            polyline_field(sh, fr.to_pixels(rv), fr.length_px(0.0022)),
        )
        f = np.maximum(1.8 * gen, leads)
        amp, regs = 0.3, ["left upper lung zone", "cardiac silhouette", "right atrium"]
    L["devices"] += amp * f
    return f > 0.3, regs


DRAWERS = {
    "Cardiomegaly": draw_cardiomegaly,
    "Enlarged Cardiomediastinum": draw_ecm,
    "Pleural Effusion": draw_effusion,
    "Consolidation": draw_consolidation,
    "Pneumonia": draw_pneumonia,
    "Atelectasis": draw_atelectasis,
    "Edema": draw_edema,
    "Pneumothorax": draw_pneumothorax,
    "Lung Lesion": draw_lesion,
    "Fracture": draw_fracture,
    "Pleural Other": draw_pleural_other,
    "Support Devices": draw_device,
}


def draw_finding(spec: FindingSpec, g: Geometry, L: dict, zones: dict):
    rng = np.random.default_rng(spec.seed)
    mask, regs = DRAWERS[spec.label](spec, g, L, rng, zones)
    seen, ordered = set(), []
    for r in regs:
        if r not in seen:
            seen.add(r)
            ordered.append(r)
    return mask, ordered
