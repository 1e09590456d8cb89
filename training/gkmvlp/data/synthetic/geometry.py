"""Random patient geometry of one film: body habitus, positioning, inspiration, heart and
mediastinum size, bony landmarks, vessel trees and exposure. All random draws for the anatomy
happen here, up front, so that findings can change the geometry (a bigger heart, an elevated
hemidiaphragm) without changing any other random draw of the same sample."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .raster import Frame


@dataclass
class Geometry:
    view: str
    frame: Frame
    cx: float
    W: float  # half width of the bony thorax (midline to lateral lung edge)
    apex: float  # v of the lung apices
    dome: dict  # {"right": v of dome peak, "left": ...}
    dome_h: float  # dome height (peak to costophrenic angle)
    d_apex: float  # lateral distance of the apex centre from the midline
    mw: float  # half width of the upper mediastinum
    med_off: float  # mediastinal centre offset toward the patient's left (image right)
    ctr: float  # cardiothoracic ratio
    heart_ry: float
    heart_angle: float
    knob_r: float
    knob_v: float
    carina_v: float
    trachea_dx: float
    tw: float  # trachea half width
    clav_v: tuple  # (medial v, lateral v)
    rib_r0: float
    rib_sp: float
    body_w: float
    body_d: float  # soft tissue density
    air: float  # lung air contrast
    breast: float  # breast shadow density (0 = none)
    gastric: float  # gastric bubble contrast (0 = none)
    vessels: dict  # side -> list of (points (n,2) patient coords relative to hilum, half widths)
    exposure: dict
    # set by findings
    ecm_extra: float = 0.0
    dome_raise: dict = field(default_factory=lambda: {"right": 0.0, "left": 0.0})

    # ---- derived quantities -------------------------------------------------------------
    def side_sign(self, side: str) -> float:
        """Image direction of the patient's side: patient right is on the image's left."""
        return -1.0 if side == "right" else 1.0

    def dome_peak(self, side: str) -> float:
        return self.dome[side] - self.dome_raise[side]

    def cpa_v(self, side: str) -> float:
        return self.dome_peak(side) + self.dome_h

    def heart(self) -> tuple[float, float, float, float, float]:
        """(cx, cy, rx, ry, angle) of the cardiac ellipse; its horizontal extent is ctr * 2W."""
        hx = self.ctr * self.W * (1.1 if self.view == "AP" else 1.0)
        ang, ry = self.heart_angle, self.heart_ry * (1.05 if self.view == "AP" else 1.0)
        s2, c2 = math.sin(ang) ** 2, math.cos(ang) ** 2
        rx = math.sqrt(max(hx * hx - ry * ry * s2, (0.6 * hx) ** 2) / c2)
        hy = math.sqrt(rx * rx * s2 + ry * ry * c2)
        hcx = self.cx + 0.3 * hx
        hcy = self.dome_peak("left") + 0.015 - 0.55 * hy
        return hcx, hcy, rx, ry, ang

    def heart_extent(self) -> tuple[float, float, float, float]:
        hcx, hcy, rx, ry, ang = self.heart()
        s2, c2 = math.sin(ang) ** 2, math.cos(ang) ** 2
        hx, hy = math.sqrt(rx * rx * c2 + ry * ry * s2), math.sqrt(rx * rx * s2 + ry * ry * c2)
        return hcx - hx, hcy - hy, hcx + hx, hcy + hy

    def hilum(self, side: str) -> tuple[float, float]:
        sg = self.side_sign(side)
        dv = 0.085 if side == "right" else 0.065
        return (self.cx + self.med_off + sg * (self.mw + 0.055), self.carina_v + dv)

    def trachea_x(self) -> float:
        return self.cx + self.trachea_dx


def _vessel_tree(rng: np.random.Generator, sg: float) -> list:
    trees = []
    for _ in range(int(rng.integers(10, 15))):
        a = math.radians(rng.uniform(-80, 85))
        length = rng.uniform(0.12, 0.27)
        d1 = np.array([sg * math.cos(a), math.sin(a)])
        a2 = a + math.radians(rng.normal(0, 14))
        d2 = np.array([sg * math.cos(a2), math.sin(a2)])
        p0 = rng.normal(0, 0.008, 2)
        p1 = p0 + 0.45 * length * d1
        p2 = p1 + 0.55 * length * d2
        trees.append((np.stack([p0, p1, p2]), np.array([0.0055, 0.0033, 0.0010])))
        a3 = a + math.radians(rng.choice([-1, 1]) * rng.uniform(20, 40))
        d3 = np.array([sg * math.cos(a3), math.sin(a3)])
        p3 = p1 + 0.4 * length * d3
        trees.append((np.stack([p1, p3]), np.array([0.0025, 0.0008])))
    return trees


def sample_geometry(rng: np.random.Generator, size: int, p_ap: float) -> Geometry:
    view = "AP" if rng.random() < p_ap else "PA"
    ap = view == "AP"
    frame = Frame(
        size=size,
        shift=(float(rng.normal(0, 0.015)), float(rng.normal(0.01, 0.015))),
        scale=float(rng.uniform(0.92, 1.06)),
        angle=float(math.radians(rng.normal(0, 2.0))),
    )
    W = float(rng.uniform(0.31, 0.355))
    apex = float(rng.uniform(0.13, 0.17))
    dome_r = float(rng.uniform(0.58, 0.66) if ap else rng.uniform(0.62, 0.71))
    dome = {"right": dome_r, "left": dome_r + float(rng.uniform(0.008, 0.035))}
    mw = float(rng.uniform(0.05, 0.065)) * (1.08 if ap else 1.0)
    carina_v = float(rng.uniform(0.33, 0.37))
    return Geometry(
        view=view,
        frame=frame,
        cx=0.5,
        W=W,
        apex=apex,
        dome=dome,
        dome_h=float(rng.uniform(0.045, 0.075)),
        d_apex=float(rng.uniform(0.14, 0.17)),
        mw=mw,
        med_off=float(rng.uniform(0.0, 0.012)),
        ctr=float(rng.uniform(0.39, 0.48)),
        heart_ry=float(rng.uniform(0.095, 0.12)),
        heart_angle=float(rng.uniform(0.30, 0.55)),
        knob_r=float(rng.uniform(0.024, 0.032)),
        knob_v=float(carina_v - rng.uniform(0.03, 0.05)),
        carina_v=carina_v,
        trachea_dx=float(rng.normal(0, 0.004)),
        tw=float(rng.uniform(0.014, 0.019)),
        clav_v=((0.235, 0.165) if not ap else (0.20, 0.13)),
        rib_r0=float(apex - rng.uniform(0.0, 0.02)),
        rib_sp=float(rng.uniform(0.05, 0.058)),
        body_w=float(W + rng.uniform(0.035, 0.10)),
        body_d=float(rng.uniform(0.46, 0.56)),
        air=float(rng.uniform(0.26, 0.31)),
        breast=float(rng.uniform(0.03, 0.07)) if rng.random() < 0.45 else 0.0,
        gastric=float(rng.uniform(0.06, 0.16)) if rng.random() < 0.7 else 0.0,
        vessels={"right": _vessel_tree(rng, -1.0), "left": _vessel_tree(rng, 1.0)},
        exposure={
            "gain": float(rng.uniform(1.2, 1.5)),
            "bias": float(rng.uniform(-0.02, 0.05)),
            "gamma": float(rng.uniform(0.85, 1.2)),
            "noise": float(rng.uniform(0.008, 0.024)),
            "mottle": float(rng.uniform(0.005, 0.02)),
            "blur": float(rng.uniform(0.4, 0.9)),
        },
    )
