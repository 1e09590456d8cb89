"""The real-film corpus assembly (gkmvlp.data.real) on tiny fake clones built here: a bare git snapshot
with a missing blob (NIH-like names + COVID folder), a checkout with a work tree (JSRT-like, with masks),
a plain folder (COVID-CXNet-like, metadata with a lateral), and an IU-reports folder. No network; needs
git and ../shared (tools + evaluation data), else skipped."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gkmvlp.data.real import CorpusError, load_manifest, split_of
from gkmvlp.data.real import images as px
from gkmvlp.data.real.assemble import assemble
from gkmvlp.data.real.evaluation import load_tool

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TOOLS, DATA = SHARED / "tools", SHARED / "data"
pytestmark = pytest.mark.skipif(
    not (TOOLS / "near_duplicates.py").is_file() or shutil.which("git") is None, reason="needs ../shared/tools and git"
)
TALO = "X-Ray Image DataSet"
MAX_SIDE = 64


def film(seed: int, size=(96, 96), mode="L") -> Image.Image:
    """A distinct smooth random picture (dHashes of two seeds differ by ~128 bits)."""
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), "RGB").resize(size, Image.BICUBIC)
    return im.convert(mode)


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def put(root: Path, rel: str, data: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit_all(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "fake")


def eval_copies() -> tuple[bytes, bytes] | None:
    imgs = sorted((DATA / "classification_nih14" / "images").glob("*.png"))
    if not imgs:
        return None
    orig = imgs[0].read_bytes()
    im = Image.open(io.BytesIO(orig)).convert("L").resize((700, 700), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)  # resized and re-encoded, then stored as PNG
    return orig, png(Image.open(io.BytesIO(buf.getvalue())))


EVAL_PATIENT = "00000075"  # a patient of shared/data/classification_nih14 (00000075_000.png)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    clones = tmp / "clones"
    # 1. muhammedtalo-like, then cloned bare with one blob deleted
    w = tmp / "talo"
    for i, rel in enumerate(
        [
            "No_findings/90000001_000.png",
            "No_findings/90000001_001.png",
            "Pneumonia/90000001_002.png",
            "No_findings/90000003_000.png",
            f"Pneumonia/{EVAL_PATIENT}_099.png",
        ]
        + [f"Pneumonia/9000{k:04d}_000.png" for k in range(10, 30)]
    ):
        put(w, f"{TALO}/{rel}", png(film(i)))
    put(w, f"{TALO}/Covid-19/covid-19-pneumonia-7-PA.jpg", png(film(100, mode="RGB")))  # a PNG named .jpg
    put(w, f"{TALO}/Covid-19/dup-of-cxnet.png", png(film(200)))
    near = Image.fromarray(np.clip(np.asarray(film(401), np.int16) + 9, 0, 255).astype(np.uint8)).resize((130, 130))
    put(w, f"{TALO}/Covid-19/brighter-larger-copy.png", png(near))  # of cxnet:2 (film 401)
    copies = eval_copies()
    if copies:
        put(w, f"{TALO}/No_findings/90000998_000.png", copies[0])
        put(w, f"{TALO}/Pneumonia/90000999_000.png", copies[1])
    commit_all(w)
    bare = clones / "muhammedtalo+COVID-19" / "repo"
    git(tmp, "clone", "-q", "--bare", str(w), str(bare))
    gone = git(w, "rev-parse", f"HEAD:{TALO}/No_findings/90000003_000.png")
    loose = bare / "objects" / gone[:2] / gone[2:]
    assert loose.is_file(), "expected a loose object in the local bare clone"
    loose.unlink()
    # 2. JSRT-like checkout with a work tree; masks at half size as in the real snapshot
    j = clones / "AnishHota" / "JSRT-Segmentation"
    put(j, "JSRT/jsrt_images/images/JPCLN001.IMG.png", png(film(300, (160, 160)).convert("P")))
    put(j, "JSRT/jsrt_images/images/JPCNN001.IMG.png", png(film(301, (160, 160))))
    for name in ("JPCLN001", "JPCNN001"):
        for folder, x0 in (
            ("right_lung", 5),
            ("left_lung", 45),
            ("heart", 30),
            ("right_clavicle", 10),
            ("left_clavicle", 50),
        ):
            m = np.zeros((80, 80), np.uint8)
            m[10:60, x0 : x0 + 25] = 255
            put(j, f"JSRT/masks/masks/{folder}_png/{name}.png", png(Image.fromarray(m)))
    commit_all(j)
    # 3. COVID-CXNet-like plain folder (no git): metadata with a lateral and a shared patient
    c = clones / "COVID-CXNet"
    for i, name in enumerate(["1.jpg", "2.PNG", "3-.png", "4.png", "5.png"]):
        put(c, f"chest_xray_images/covid19/{name}", png(film(400 + i)))
    put(c, "chest_xray_images/covid19/9.png", png(film(200)))  # same pixels as talo's dup-of-cxnet.png
    with open(c / "metadata.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["filename", "patient_id", "view", "label"])
        wr.writerows([["1.jpg", "7", "PA", "COVID-19"], ["2.png", "7", "L", "COVID-19"], ["4.png", "8", "AP", ""]])
    # 4. IU reports, found by name only
    r = clones / "Textual-Report-Generation-from-Chest-X-rays-Indiana-Dataset"
    r.mkdir(parents=True)
    (r / "indiana_reports.csv").write_text(
        "uid,MeSH,Problems,image,indication,comparison,findings,impression\n"
        "1,normal,normal,x,,,Clear lungs.,Normal.\n"  # in the evaluation sample's range
        "500,Cardiomegaly;Opacity/lung,Cardiomegaly;Opacity,x,Cough.,,Large heart.,Cardiomegaly.\n"
        "501,normal,normal,x,,,,\n"
    )  # neither findings nor impression
    (r / "indiana_projections.csv").write_text("uid,filename,projection\n500,a.png,Frontal\n500,b.png,Lateral\n")
    # 5. kcr2019d1-like NIH thumbnails (plain folder), and 6. NIH's label file (capstone-like), which relabels NIH
    # films of both sources; its last line is cut off, as a truncated copy's may be
    k = clones / "kcr2019d1"
    put(k, "NIH1000/train/0_normal/90000040_000.png", png(film(500, (64, 64))))
    put(k, "NIH1000/test/1_abnormal/90000041_000.png", png(film(501, (64, 64))))
    put(k, "NIH1000/valid/1_abnormal/90000042_000.png", png(film(502, (64, 64))))
    e = clones / "capstone"
    e.mkdir(parents=True)
    (e / "Data_Entry_2017.csv").write_text(
        "Image Index,Finding Labels,Follow-up #,Patient ID,View Position\n"
        "90000041_000.png,Cardiomegaly|Effusion,0,90000041,PA\n"
        "90000010_000.png,Pneumonia|Edema,0,90000010,AP\n"
        "90000042_000.png,"
    )
    # 7. Cancer-Detection-like: NIH films at 128 px in one folder per finding, deleted by a later commit (bare clone):
    # the pinned commit is read, not HEAD. 90000050_000 lies in two finding folders of two of the repo's splits; the
    # third is a 128-px copy of talo's nih:90000001_000 (film 0), which that source holds at full size.
    cd = tmp / "cancer-detection"
    put(cd, "dataset/train/Effusion/90000050_000.png", png(film(600, (128, 128))))
    put(cd, "dataset/validate/Cardiomegaly/90000050_000.png", png(film(600, (128, 128))))
    put(cd, "dataset/test/No Finding/90000051_000.png", png(film(601, (128, 128))))
    put(cd, "dataset/train/No Finding/90000001_005.png", png(film(0).resize((128, 128), Image.LANCZOS)))
    commit_all(cd)
    pinned = git(cd, "rev-parse", "HEAD")
    git(cd, "rm", "-q", "-r", "dataset")
    put(cd, "README.md", b"cleaned up")
    git(cd, "add", "-A")
    git(cd, "commit", "-q", "-m", "cleaning up")
    git(tmp, "clone", "-q", "--bare", str(cd), str(clones / "pelagecha+Cancer-Detection" / "repo"))
    # 8. CheXpert-small's validation set in a bare clone: a patient's frontal and lateral films, read through git
    cx = tmp / "chexpert-small"
    put(cx, "CheXpert-v1.0-small/valid/patient64542/study1/view1_frontal.jpg", png(film(700, (80, 96))))
    put(cx, "CheXpert-v1.0-small/valid/patient64542/study1/view2_lateral.jpg", png(film(701, (80, 96))))
    head = "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,"
    head += "Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,"
    head += "Fracture,Support Devices\n"
    row = ",0.0,0.0,1.0,1.0,0.0,0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0,1.0\n"
    pre = "CheXpert-v1.0-small/valid/patient64542/study1/"
    put(
        cx,
        "CheXpert-v1.0-small/valid.csv",
        (
            head + pre + "view1_frontal.jpg,Male,70,Frontal,PA" + row + pre + "view2_lateral.jpg,Male,70,Lateral," + row
        ).encode(),
    )
    commit_all(cx)
    git(tmp, "clone", "-q", "--bare", str(cx), str(clones / "rishabhbhardwaj+ChestXRay-Classification" / "repo"))
    out = tmp / "corpus"
    with cancer_detection_at(pinned):
        summary = assemble(clones, out, tools_dir=TOOLS, max_side=MAX_SIDE, progress=False)
    rows = {row["id"]: row for row in load_manifest(out)}
    excluded = [json.loads(l) for l in (out / "excluded.jsonl").read_text().splitlines()]
    return {
        "clones": clones,
        "out": out,
        "summary": summary,
        "rows": rows,
        "excluded": excluded,
        "copies": copies is not None,
        "pinned": pinned,
    }


@contextlib.contextmanager
def cancer_detection_at(commit: str):
    """The fixture's films live in its own commit, not the real snapshot's pinned one."""
    from gkmvlp.data.real import assemble as asm

    orig = asm.SOURCES
    asm.SOURCES = tuple(
        dataclasses.replace(s, commit=commit) if s.repo == "pelagecha/Cancer-Detection" else s for s in orig
    )
    try:
        yield
    finally:
        asm.SOURCES = orig


def test_dhash_matches_the_tool_on_every_mode(tmp_path):
    nd = load_tool(TOOLS)
    ims = [
        film(1),
        film(2, mode="RGB"),
        film(3, mode="RGBA"),
        film(4).convert("P"),
        Image.fromarray((np.asarray(film(5), np.uint16) * 16).astype(np.uint16)),
    ]
    for k, im in enumerate(ims):
        for fmt in ("PNG", "JPEG"):
            if fmt == "JPEG" and im.mode not in ("L", "RGB"):
                continue
            p = tmp_path / f"{k}.{fmt.lower()}"
            im.save(p, fmt)
            assert px.dhash_image(px.decode(p.read_bytes())) == nd.dhash(str(p)), (k, fmt, im.mode)


def test_rows_labels_and_unknowns(corpus):
    rows = corpus["rows"]
    normal = rows["nih:90000001_000"]
    assert normal["labels"]["No Finding"] == 1 and normal["labels"]["Pneumothorax"] == 0
    for unknown in ("Enlarged Cardiomediastinum", "Fracture", "Support Devices"):
        assert unknown not in normal["labels"]  # unknown: absent, never 0
    assert rows["nih:90000001_002"]["labels"] == {"No Finding": 0, "Lung Opacity": 1, "Pneumonia": 1}
    assert rows["jsrt:JPCLN001"]["labels"] == {"No Finding": 0, "Lung Lesion": 1}
    assert rows["jsrt:JPCNN001"]["labels"] == {"Lung Lesion": 0}
    cov = rows["talo-covid:covid-19-pneumonia-7-PA"]
    assert cov["diagnosis"] == "COVID-19" and cov["view"] == "PA" and cov["patient_known"] is False
    assert rows["cxnet:1"]["labels"] == {"No Finding": 0, "Lung Opacity": 1, "Pneumonia": 1}
    assert rows["cxnet:3-"]["labels"] == {} and "without visible abnormality" in rows["cxnet:3-"]["note"]
    assert rows["cxnet:4"]["labels"] == {} and "diagnosis" not in rows["cxnet:4"]  # metadata label not COVID-19
    lat = rows["cxnet:2"]
    assert lat["view"] == "lateral" and lat["frontal"] is False
    assert corpus["summary"]["laterals"]["cxnet"] == 1
    assert lat["source_commit"] is None and normal["source_commit"] and len(normal["source_commit"]) == 40
    for r in rows.values():
        im = Image.open(corpus["out"] / r["image"])
        assert im.mode == "L" and im.size == (r["width"], r["height"]) and max(im.size) <= MAX_SIDE


def test_nih_label_file_relabels_nih_films_of_every_source(corpus):
    rows, s = corpus["rows"], corpus["summary"]
    thumb = rows["nih64:90000041_000"]["labels"]
    assert thumb["Cardiomegaly"] == 1 and thumb["Pleural Effusion"] == 1 and thumb["No Finding"] == 0
    assert thumb["Pneumothorax"] == 0 and "Support Devices" not in thumb  # graded by NIH: 0; not graded: unknown
    assert rows["nih64:90000040_000"]["labels"]["No Finding"] == 1  # normal folder, not in the file
    assert rows["nih64:90000042_000"]["labels"] == {"No Finding": 0}  # its row is cut off: the folder's label
    full = rows["nih:90000010_000"]["labels"]
    assert full["Edema"] == 1 and full["Pneumonia"] == 1 and full["Cardiomegaly"] == 0
    assert s["sources"]["qqto2008/capstone"]["films_relabelled"] == 2
    # and the file's view positions (the cut-off row has none)
    assert rows["nih:90000010_000"]["view"] == "AP" and rows["nih64:90000041_000"]["view"] == "PA"
    assert rows["nih64:90000042_000"]["view"] == "unknown"
    assert s["sources"]["qqto2008/capstone"]["films_with_view"] == 2
    # the thumbnails share the NIH patient namespace: a patient's films are on one side of the split
    assert rows["nih64:90000041_000"]["split"] == split_of("nih", "90000041")


def test_nih_films_of_a_deleted_folder_tree_are_read_at_the_pinned_commit(corpus):
    rows, s = corpus["rows"], corpus["summary"]
    both = rows["nih128:90000050_000"]
    assert both["source_commit"] == corpus["pinned"]
    labels = both["labels"]  # the union of its two finding folders; the repo's own split folders ignored
    assert labels["Pleural Effusion"] == 1 and labels["Cardiomegaly"] == 1 and labels["No Finding"] == 0
    assert labels["Pneumothorax"] == 0 and "Support Devices" not in labels
    assert both["split"] == split_of("nih", "90000050") and both["patient"] == "90000050"
    assert rows["nih128:90000051_000"]["labels"]["No Finding"] == 1
    # the 128-px copy of a film another NIH source holds at full size is dropped, the full-size one kept
    copy = [e for e in corpus["excluded"] if e["id"] == "nih128:90000001_005"]
    assert copy and copy[0]["reason"].endswith("duplicate within the corpus") and copy[0]["match"] == "nih:90000001_000"
    assert s["sources"]["pelagecha/Cancer-Detection"]["candidates"] == 3


def test_chexpert_validation_films_from_a_snapshot_keep_their_view_and_radiologist_labels(corpus):
    rows = corpus["rows"]
    front, lat = rows["chexpert:patient64542_study1_view1_frontal"], rows["chexpert:patient64542_study1_view2_lateral"]
    assert front["frontal"] is True and front["view"] == "PA"
    assert lat["frontal"] is False and lat["view"] == "lateral"
    assert front["labels"]["Cardiomegaly"] == 1 and front["labels"]["Pleural Effusion"] == 1
    assert front["labels"]["No Finding"] == 0 and front["labels"]["Pneumothorax"] == 0
    assert front["split"] == lat["split"] == split_of("chexpert", "patient64542")
    assert corpus["summary"]["laterals"]["chexpert"] == 1


def test_a_snapshot_without_the_pinned_commit_is_reported_missing(corpus, tmp_path):
    with cancer_detection_at("0" * 40):
        s = assemble(corpus["clones"], tmp_path / "c", tools_dir=TOOLS, max_side=MAX_SIDE, progress=False)
    info = s["sources"]["pelagecha/Cancer-Detection"]
    assert info["found"] is False and "with commit 0000" in info["problem"]


def test_masks_present_sized_and_sided(corpus):
    r = corpus["rows"]["jsrt:JPCLN001"]
    assert set(r["masks"]) == {"right lung", "left lung", "cardiac silhouette", "right clavicle", "left clavicle"}
    for rel in r["masks"].values():
        m = np.asarray(Image.open(corpus["out"] / rel))
        assert m.shape == (r["height"], r["width"]) and set(np.unique(m)) <= {0, 255}
    right = np.asarray(Image.open(corpus["out"] / r["masks"]["right lung"]))
    assert np.nonzero(right)[1].mean() < r["width"] / 2  # patient's right lung on the image left
    assert corpus["summary"]["masks"]["problems"] == []


def test_split_by_patient(corpus):
    rows = corpus["rows"]
    same = [rows[i]["split"] for i in ("nih:90000001_000", "nih:90000001_001", "nih:90000001_002")]
    assert len(set(same)) == 1 and same[0] == split_of("nih", "90000001")
    assert rows["cxnet:1"]["split"] == rows["cxnet:2"]["split"] == split_of("cxnet", "7")
    assert rows["cxnet:5"]["patient_known"] is False and rows["cxnet:5"]["patient"] == "5"
    splits = [split_of("x", str(i)) for i in range(20000)]
    assert abs(splits.count("train") / 20000 - 0.70) < 0.02 and abs(splits.count("test") / 20000 - 0.15) < 0.02


def test_missing_blob_missing_sources_and_duplicates(corpus):
    s, ex = corpus["summary"], corpus["excluded"]
    talo = s["sources"]["muhammedtalo/COVID-19"]
    assert talo["missing_blobs"] == [f"{TALO}/No_findings/90000003_000.png"] and talo["blobs_absent_from_snapshot"] == 1
    assert "nih:90000003_000" not in corpus["rows"]
    assert set(s["missing"]) == {"pi-null-mezon/OpenIST", "ml-workgroup/covid-19-image-repository"}
    dup = [e for e in ex if e["id"] == "talo-covid:dup-of-cxnet"]
    assert dup and dup[0]["reason"] == "duplicate within the corpus" and dup[0]["match"] == "cxnet:9"
    near = [e for e in ex if e["id"] == "talo-covid:brighter-larger-copy"]
    assert near and near[0]["reason"].endswith("duplicate within the corpus") and near[0]["match"] == "cxnet:2"
    assert near[0]["distance"] <= 12
    pat = [e for e in ex if e["id"] == f"nih:{EVAL_PATIENT}_099"]
    assert pat and pat[0]["reason"] == "same NIH patient as an evaluation film"


def test_reports(corpus):
    reps = [json.loads(l) for l in (corpus["out"] / "reports.jsonl").read_text().splitlines()]
    assert [r["uid"] for r in reps] == [500]  # 1: evaluation range; 501: no text
    assert reps[0]["mesh"] == ["Cardiomegaly", "Opacity/lung"] and reps[0]["projections"] == ["Frontal", "Lateral"]
    assert reps[0]["split"] == split_of("iu", "500")
    assert any(e["id"] == "iu:1" and e["reason"].startswith("evaluation report") for e in corpus["excluded"])


def test_evaluation_copies_excluded(corpus):
    if not corpus["copies"]:
        pytest.skip("../shared/data/classification_nih14 absent")
    ex = {e["id"]: e for e in corpus["excluded"]}
    for i in ("nih:90000998_000", "nih:90000999_000"):
        assert ex[i]["reason"] == "evaluation near-duplicate" and ex[i]["distance"] <= 12 and i not in corpus["rows"]
    assert ex["nih:90000998_000"]["distance"] == 0


def test_rerun_is_byte_identical(corpus, tmp_path):
    before = {f: (corpus["out"] / f).read_bytes() for f in ("manifest.jsonl", "reports.jsonl", "excluded.jsonl")}
    img = (corpus["out"] / "images/jsrt/JPCLN001.png").read_bytes()
    with cancer_detection_at(corpus["pinned"]):
        assemble(corpus["clones"], corpus["out"], tools_dir=TOOLS, max_side=MAX_SIDE, progress=False)
    for f, data in before.items():
        assert (corpus["out"] / f).read_bytes() == data, f
    assert (corpus["out"] / "images/jsrt/JPCLN001.png").read_bytes() == img
    assert not corpus["out"].with_name("corpus.part").exists()
    s = json.loads((corpus["out"] / "corpus.json").read_text())
    import hashlib

    assert s["sha256"]["manifest.jsonl"] == hashlib.sha256(before["manifest.jsonl"]).hexdigest()


def test_load_manifest_errors(corpus, tmp_path):
    assert {r["split"] for r in load_manifest(corpus["out"], split="val")} <= {"val"}
    bad = tmp_path / "bad"
    shutil.copytree(corpus["out"], bad)
    lines = (bad / "manifest.jsonl").read_text().splitlines()
    row = json.loads(lines[1])
    row["labels"]["Pneumonia"] = None
    lines[1] = json.dumps(row)
    (bad / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"manifest.jsonl:2: label 'Pneumonia'"):
        load_manifest(bad)


def test_cli_exits_2_without_sources(tmp_path, capsys):
    from gkmvlp.cli.assemble_real import main

    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as e:
        main(
            ["--clones", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--tools", str(TOOLS), "--no-progress"]
        )
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "no usable source" in err and "muhammedtalo/COVID-19" in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.part").exists()


def test_split_lungs_of_a_both_lungs_mask():
    m = np.zeros((40, 60), bool)
    m[5:35, 5:25] = True  # image left: the patient's right lung
    m[5:35, 35:55] = True
    left, right, problem = px.split_lungs(m)
    assert problem is None and left[:, :30].sum() == left.sum() == 600 and right[:, 30:].sum() == right.sum() == 600
    m[20, 25:35] = True  # lungs touching at the mediastinum: still split, but reported
    assert px.split_lungs(m)[2].startswith("lungs touch")
    one = np.zeros((40, 60), bool)
    one[5:35, 5:25] = True
    assert "not two lungs" in px.split_lungs(one)[2]


def test_sixteen_bit_films_are_scaled_not_clipped():
    a = (np.asarray(film(7), np.float64) / 255 * 4095).astype(np.uint16)  # a 12-bit film in 16 bits
    g = px.to_grey8(Image.fromarray(a))
    assert g.mode == "L" and np.asarray(g).max() > 150  # convert('L') would clip all to 255
    assert np.abs(np.asarray(g, np.float64) - a.astype(np.float64) * 255 / 4095).max() <= 1


def test_local_nih14_chexpert_mimic(tmp_path):
    """Local copies of the big datasets (the readers' fixtures plus generated films), without --clones."""
    fx = Path(__file__).parent / "fixtures"
    nih, chx, mim = tmp_path / "nih", tmp_path / "chexpert", tmp_path / "mimic"
    nih.mkdir()
    shutil.copy(fx / "nih" / "Data_Entry_2017.csv", nih)
    for k, name in enumerate(["90000001_000.png", "90000002_000.png"]):  # 90000003_001 not downloaded
        put(nih, f"images_00{k + 1}/images/{name}", png(film(500 + k)))
    chx.mkdir()
    shutil.copy(fx / "chexpert" / "valid.csv", chx)
    for k, rel in enumerate(
        [
            "patient90001/study1/view1_frontal.jpg",
            "patient90002/study1/view1_frontal.jpg",
            "patient90002/study1/view2_lateral.jpg",
        ]
    ):
        buf = io.BytesIO()
        film(600 + k).save(buf, "JPEG")
        put(chx, f"valid/{rel}", buf.getvalue())
    shutil.copytree(fx / "mimic", mim)
    put(mim, "files/p10/p10000001/s50000001/aaaa1111-bbbb2222-cccc3333-dddd4444-eeee5555.jpg", png(film(700)))
    put(mim, "files/p10/p10000002/s50000002/ffff6666-aaaa7777-bbbb8888-cccc9999-dddd0000.jpg", png(film(701)))
    out = tmp_path / "corpus"
    s = assemble(
        None,
        out,
        datasets={"nih14": nih, "chexpert": chx, "mimic": mim},
        tools_dir=TOOLS,
        max_side=MAX_SIDE,
        progress=False,
    )
    rows = {r["id"]: r for r in load_manifest(out)}
    a = rows["nih14:90000001_000"]
    assert a["labels"]["Cardiomegaly"] == 1 and a["labels"]["Pleural Effusion"] == 1 and a["labels"]["No Finding"] == 0
    assert "Fracture" not in a["labels"] and a["view"] == "PA" and a["split"] == split_of("nih", "90000001")
    assert s["sources"]["NIH ChestX-ray14"]["missing_count"] == 1  # the image not downloaded
    c = rows["chexpert:patient90001_study1_view1_frontal"]
    assert c["labels"] == {
        "Cardiomegaly": 1,
        "Lung Opacity": 1,
        "Edema": 0,
        "Pleural Effusion": 1,
        "Support Devices": 1,
    }  # -1 (Atelectasis) unknown
    lat = rows["chexpert:patient90002_study1_view2_lateral"]
    assert lat["view"] == "lateral" and lat["frontal"] is False
    m = rows["mimic:aaaa1111-bbbb2222-cccc3333-dddd4444-eeee5555"]
    assert m["labels"] == {"Cardiomegaly": 1, "Edema": 0, "Pneumothorax": 0, "Pleural Effusion": 1}
    assert m["patient"] == "10000001" and m["split"] == split_of("mimic", "10000001")
    reps = [json.loads(l) for l in (out / "reports.jsonl").read_text().splitlines()]
    assert {r["id"] for r in reps} == {"mimic:s50000001", "mimic:s50000002"}
    r1 = next(r for r in reps if r["id"] == "mimic:s50000001")
    assert r1["findings"].startswith("The heart is moderately enlarged") and r1["split"] == m["split"]
    assert s["missing"] == [] and "CheXpert" in (out / "LICENCES.md").read_text()


def test_covid_case_groups():
    from gkmvlp.data.real.source_readers import covid_group

    assert covid_group("covid-19-pneumonia-24-day6") == covid_group("covid-19-pneumonia-24-day12")
    assert covid_group("nejmoa2001191_f1-PA") == covid_group("nejmoa2001191_f4")
    assert covid_group("auntminnie-a-2020_01_28_x") == covid_group("auntminnie-c-2020_01_28_x")
    assert covid_group("covid-19-pneumonia-7-PA") != covid_group("covid-19-pneumonia-12")
