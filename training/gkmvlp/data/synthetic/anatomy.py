"""Rendering of the normal anatomy as attenuation layers, and the 29 region boxes derived from it.

Attenuation A (higher = whiter) is built from layers so findings can edit them before composing:
soft tissue of the body, air of both lungs (hollowed out by heart, mediastinum and aortic knob),
lung markings (vessel trees radiating from the hila plus fine texture), ribs, clavicles, spine,
the tracheal air column and main bronchi, breast shadows and the gastric bubble.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .geometry import Geometry
from .raster import bbox_of, box_of_points, clip_box, ellipse_sdf, polyline_field, smoothstep

EPS = 0.0035  # edge softness in patient units (~0.8 px at 224)
SIDES = ("right", "left")


def lung_sdf(g: Geometry, side: str, U, V):
    """Signed inside-function of one lung (positive inside), ignoring heart and aortic knob."""
    sg = g.side_sign(side)
    d = sg * (U - g.cx)
    span = g.cpa_v(side) - g.apex
    t = np.clip((V - g.apex) / span, 0.0, 1.0)
    lat = g.d_apex + (g.W - g.d_apex) * np.sqrt(t) - d
    med_apex = d - (g.d_apex - (g.d_apex - g.mw - 0.01) * np.sqrt(np.minimum(t / 0.25, 1.0)))
    dm = sg * (U - g.cx - g.med_off)
    bump = smoothstep(V - g.apex - 0.04, 0.03) * smoothstep(g.heart_extent()[1] + 0.03 - V, 0.03)
    med = dm - (g.mw + g.ecm_extra * bump)
    half = 0.45 * g.W
    dome = g.dome_peak(side) + g.dome_h * ((d - 0.55 * g.W) / half) ** 2 - V
    return np.minimum(np.minimum(np.minimum(V - g.apex, lat), np.minimum(med_apex, med)), dome)


def rib_field(g: Geometry, side: str, U, V, fracture: dict | None = None):
    """Posterior ribs (bright, with cortical edges) and faint anterior ribs of one hemithorax."""
    sg = g.side_sign(side)
    d = sg * (U - g.cx)
    dn = d / g.W
    sp = g.rib_sp
    s = (V - g.W * (-0.3 * dn + 0.8 * dn * dn) - g.rib_r0) / sp
    if fracture is not None:
        win = np.exp(-(((V - fracture["v"]) / (0.7 * sp)) ** 2))
        s = s + (fracture["step"] / sp) * win * smoothstep(d - fracture["d"], 0.002)
    k = np.floor(s)
    phi = s - k
    bt = 0.36
    inside = (bt / 2 - np.abs(phi - bt / 2)) * sp
    post = smoothstep(inside, 0.0025) * (0.7 + 0.3 * np.exp(-((inside / 0.004) ** 2)))
    post *= (k >= 0) & (k <= 11)
    reach = smoothstep(d - 0.04, 0.004) * smoothstep(g.W + 0.03 - d, 0.006) * smoothstep(g.cpa_v(side) + 0.04 - V, 0.02)
    post *= reach
    if fracture is not None:
        gap = np.exp(-(((d - fracture["d"]) / fracture["gap"]) ** 2)) * win
        post *= 1.0 - fracture["depth"] * gap
    s2 = (V + 0.5 * g.W * dn - g.rib_r0 - 0.10) / (sp * 1.2)
    k2 = np.floor(s2)
    phi2 = s2 - k2
    ant = smoothstep((0.17 - np.abs(phi2 - 0.17)) * sp, 0.003) * ((k2 >= 0) & (k2 <= 6))
    ant *= smoothstep(dn - 0.35, 0.03) * reach
    return post + 0.35 * ant


def clavicle_field(g: Geometry, side: str, U, V):
    sg = g.side_sign(side)
    d = sg * (U - g.cx)
    t = (d - 0.035) / 0.25
    vm, vl = g.clav_v
    centre = vm + (vl - vm) * t - 0.018 * np.sin(np.pi * np.clip(t, 0, 1))
    th = 0.011 * (1.0 + 0.5 * np.clip(1 - t, 0, 1))
    inside = th - np.abs(V - centre)
    ends = smoothstep(t, 0.02) * smoothstep(1.0 - t, 0.03)
    return smoothstep(inside, 0.002) * (0.75 + 0.25 * np.exp(-((inside / 0.003) ** 2))) * ends


def body_profile(g: Geometry, U, V):
    """Soft tissue thickness: neck, shoulders, chest wall; falls off toward the body edge."""
    bw = np.interp(
        V,
        [0.0, 0.04, 0.10, 0.16, 0.26, 1.0],
        [0.09, 0.10, g.body_w - 0.03, g.body_w + 0.05, g.body_w + 0.01, g.body_w + 0.03],
    ).astype(np.float32)
    d = np.abs(U - g.cx)
    inside = smoothstep(bw - d, 0.006)
    thick = np.sqrt(np.clip(1.0 - (d / bw) ** 2, 0.0, 1.0))
    return inside * (0.45 + 0.55 * thick)


def render_layers(g: Geometry, tex_rng: np.random.Generator) -> dict:
    """All anatomy layers for one film. tex_rng draws exactly the same numbers for any geometry."""
    S = g.frame.size
    U, V = g.frame.grid()
    L: dict = {"U": U, "V": V}
    hcx, hcy, rx, ry, ang = g.heart()
    heart = smoothstep(ellipse_sdf(U, V, hcx, hcy, rx, ry, ang), EPS)
    knob = smoothstep(ellipse_sdf(U, V, g.cx + g.med_off + g.mw + 0.008, g.knob_v, g.knob_r, g.knob_r), EPS)
    L["heart"], L["knob"] = heart, knob
    hollow = (1.0 - heart) * (1.0 - knob)
    for side in SIDES:
        L["lung_" + side] = smoothstep(lung_sdf(g, side, U, V), EPS) * hollow
        L["ribs_" + side] = rib_field(g, side, U, V)
        L["clav_" + side] = clavicle_field(g, side, U, V)
    L["body"] = body_profile(g, U, V)
    # mediastinum: the soft-tissue column between the lungs from the neck down to the heart
    dm = np.abs(U - g.cx - g.med_off)
    top_heart = g.heart_extent()[1]
    L["mediastinum"] = np.maximum(
        smoothstep(g.mw + g.ecm_extra + 0.004 - dm, EPS)
        * smoothstep(top_heart + 0.03 - V, EPS)
        * smoothstep(V - g.apex + 0.02, EPS),
        heart,
    )
    spine_in = 0.034 - np.abs(U - g.cx)
    vert = 0.9 + 0.1 * np.cos(2 * np.pi * (V - g.apex) / 0.047)
    L["spine"] = smoothstep(spine_in, 0.003) * vert * (0.8 + 0.4 * np.exp(-((spine_in / 0.006) ** 2)))
    fr = g.frame
    tx = g.trachea_x()
    car = (tx, g.carina_v)
    trach = polyline_field((S, S), fr.to_pixels([(tx - 0.003, -0.1), (tx, g.carina_v - 0.01)]), fr.length_px(g.tw))
    for sg, ang_deg, length in ((-1, 28, 0.07), (1, 40, 0.085)):
        a = np.radians(ang_deg)
        end = (car[0] + sg * length * np.sin(a), car[1] + length * np.cos(a))
        trach = np.maximum(
            trach,
            polyline_field((S, S), fr.to_pixels([car, end]), [fr.length_px(g.tw * 0.85), fr.length_px(g.tw * 0.55)]),
        )
    L["trachea"] = trach
    # lung markings: vessel trees from each hilum + fine texture, stronger centrally
    texture = gaussian_filter(tex_rng.standard_normal((S, S)).astype(np.float32), 1.1 * S / 224)
    for side in SIDES:
        hx, hy = g.hilum(side)
        vess = np.zeros((S, S), np.float32)
        for pts, widths in g.vessels[side]:
            p = fr.to_pixels(pts + np.array([hx, hy]))
            f = polyline_field((S, S), p, [max(1.4 * fr.length_px(w), 0.5) for w in widths], profile="gauss")
            np.maximum(vess, f, out=vess)
        r = np.sqrt((U - hx) ** 2 + (V - hy) ** 2)
        hil = np.exp(-((r / 0.028) ** 2))
        L["markings_" + side] = 0.05 * vess + 0.02 * texture * np.exp(-r / 0.25) + 0.07 * hil
    # breasts and gastric bubble
    bre = np.zeros((S, S), np.float32)
    if g.breast > 0:
        for side in SIDES:
            c = (g.cx + g.side_sign(side) * 0.6 * g.W, g.dome_peak(side) - 0.02)
            bre += smoothstep(ellipse_sdf(U, V, c[0], c[1], 0.17, 0.12), 0.02)
    L["breast"] = g.breast * bre
    gl = g.dome_peak("left")
    L["gastric"] = g.gastric * smoothstep(ellipse_sdf(U, V, g.cx + 0.55 * g.W, gl + 0.055, 0.05, 0.028), 0.006)
    L["extra"] = np.zeros((S, S), np.float32)  # findings add their densities here
    L["devices"] = np.zeros((S, S), np.float32)
    return L


def compose(g: Geometry, L: dict) -> np.ndarray:
    """Attenuation map from layers."""
    body = L["body"]
    lungs = L["lung_right"] + L["lung_left"]
    A = g.body_d * body - g.air * lungs * (0.8 + 0.2 * body)
    A += L["markings_right"] * L["lung_right"] + L["markings_left"] * L["lung_left"]
    A += 0.06 * (L["ribs_right"] * (0.4 + 0.6 * L["lung_right"]) + L["ribs_left"] * (0.4 + 0.6 * L["lung_left"])) * body
    A += 0.11 * (L["clav_right"] + L["clav_left"]) * body
    A += 0.09 * L["spine"] * body
    A += 0.02 * L["mediastinum"] * body
    A -= 0.11 * L["trachea"] * body
    A += L["breast"] * body - L["gastric"] * body
    A += L["extra"] + L["devices"]
    return A


def region_boxes(g: Geometry, L: dict) -> dict:
    """Boxes of the 29 Chest ImaGenome regions computed from the drawn anatomy (visible ones)."""
    S = g.frame.size
    U, V = L["U"], L["V"]
    boxes: dict = {}
    fr = g.frame
    for side in SIDES:
        sg = g.side_sign(side)
        lung = L["lung_" + side]
        boxes[f"{side} lung"] = bbox_of(lung)
        span = g.cpa_v(side) - g.apex
        cuts = [g.apex + span * f for f in (1 / 3, 2 / 3)]
        lm = lung > 0.5
        for name, sel in (
            ("upper", V < cuts[0]),
            ("mid", (V >= cuts[0]) & (V < cuts[1])),
            ("lower", V >= cuts[1]),
            ("apical", V < g.apex + 0.2 * span),
        ):
            key = f"{side} {name} lung zone" if name != "apical" else f"{side} apical zone"
            boxes[key] = bbox_of(lm & sel)
        hx, hy = g.hilum(side)
        boxes[f"{side} hilar structures"] = box_of_points(fr, [(hx - 0.045, hy - 0.06), (hx + 0.045, hy + 0.05)])
        cu, cv = g.cx + sg * g.W, g.cpa_v(side)
        boxes[f"{side} costophrenic angle"] = box_of_points(
            fr, [(cu - sg * 0.085, cv - 0.085), (cu + sg * 0.012, cv + 0.012)]
        )
        pk = g.dome_peak(side)
        boxes[f"{side} hemidiaphragm"] = box_of_points(
            fr, [(g.cx + sg * 0.07, pk - 0.012), (g.cx + sg * (g.W + 0.01), g.cpa_v(side) + 0.01)]
        )
        boxes[f"{side} clavicle"] = bbox_of(L["clav_" + side])
    tx = g.trachea_x()
    boxes["trachea"] = box_of_points(fr, [(tx - g.tw - 0.004, max(g.apex - 0.1, 0.0)), (tx + g.tw + 0.004, g.carina_v)])
    boxes["carina"] = box_of_points(fr, [(tx - 0.03, g.carina_v - 0.025), (tx + 0.03, g.carina_v + 0.03)])
    boxes["spine"] = box_of_points(
        fr, [(g.cx - 0.036, max(g.apex - 0.1, 0.0)), (g.cx + 0.036, min(g.cpa_v("left") + 0.1, 1.05))]
    )
    kx = g.cx + g.med_off + g.mw + 0.008
    boxes["aortic arch"] = box_of_points(
        fr, [(kx - g.knob_r - 0.025, g.knob_v - g.knob_r), (kx + g.knob_r, g.knob_v + g.knob_r)]
    )
    boxes["mediastinum"] = bbox_of(L["mediastinum"] * (V > g.apex - 0.02))
    x1, y1, x2, y2 = g.heart_extent()
    boxes["upper mediastinum"] = bbox_of(L["mediastinum"] * (V > g.apex - 0.02) * (V < y1 + 0.02))
    ml = g.cx + g.med_off - g.mw - g.ecm_extra
    boxes["svc"] = box_of_points(fr, [(ml, g.clav_v[0] + 0.01), (ml + 0.035, y1 + 0.04)])
    boxes["cardiac silhouette"] = bbox_of(L["heart"] * (V < g.dome_peak("left") + 0.02))
    boxes["right atrium"] = bbox_of(
        L["heart"] * (U < g.cx + g.med_off) * (V > y1 + 0.03) * (V < g.dome_peak("left") + 0.02)
    )
    ra = boxes["right atrium"]
    if ra is not None:
        xr, yr = ra[0], ra[1]
        r = fr.length_px(0.022)
        boxes["cavoatrial junction"] = [xr - r * 0.3, yr - r, xr + r * 1.7, yr + r]
    boxes["abdomen"] = bbox_of((L["body"] > 0.3) & (V > g.dome_peak("right") + 0.01))
    out = {}
    for k, b in boxes.items():
        if b is not None:
            c = clip_box(b, S)
            if c is not None:
                out[k] = c
    return out
