"""Benchmark: ingest a synthetic ClinicalTrials.gov-sized corpus end to end into SQLite.

The corpus is N studies in the real API v2 shape (the modules and enums of
``reference/trials_notes.md`` §4). The default ``registry`` profile draws fields to look like
the registry: conditions and interventions from common names plus a long tail (industry codes,
~12,000 condition names), diabetes in ~1 study in 20 and a cell product in ~1 in 70, summaries
of ~75 words and eligibility of ~200 (log-normal), a detailed description in two thirds,
1–3 primary and 0–10 secondary outcomes, 0–12 locations in 20 countries, a share of records
naming a ChiCTR secondary id — about 7 KB of JSON a study. ``--profile dense`` is the worst
case: nearly every record names diabetes or a stem-cell product (18 conditions, 10
interventions), which keeps the classifier and the text index busiest.

It is written to a zip first (not timed), then ``run_dump`` streams it through parse →
validate → classify → dedup → upsert → search index (with the worker process ``run_dump``
starts by default; ``--workers 1`` for none), into a database holding the bundled institution
directory (loaded before the clock starts), as ``make run`` makes it: every site and sponsor
name is matched against its ~430 spellings, as it would be in use. Writes JSON: n, seconds,
records_per_s, peak_rss_mb (this process and its children together), the mean record size, the
load average before the run, the machine's speed at that hour (``calibration_ms``: preparing the
corpus's first 1,000 studies in one process, see ``calibrate``), the CPU time the load took
(``cpu_s`` of the writer and the worker, ``cpu_us_per_record`` of both: what the machine's
drift moves less than the wall time), when the last batch was committed (``batches_written_s``,
and the rate until then, ``batches_records_per_s``) and what followed it in the writer alone
(``serial_end_s``: merging the text indexes and building the secondary ones), and the same for
a 1/10 baseline run in the same process (ratio = scaling).

    python benchmarks/ingest.py --n 100000 --out bench-ingest.json [--db FILE] [--workers 1]
        [--profile registry|dense]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil

from isletbase.harvest import run_dump
from isletbase.ingest import Pipeline, Report, batched, load_institutions, prepare
from isletbase.sources import ctgov, ctgov_dump
from isletbase.sources import curated as bundled
from isletbase.store.db import Database

STATUSES = [
    ("COMPLETED", 45),
    ("UNKNOWN", 15),
    ("RECRUITING", 12),
    ("TERMINATED", 6),
    ("NOT_YET_RECRUITING", 4),
    ("ACTIVE_NOT_RECRUITING", 5),
    ("WITHDRAWN", 3),
    ("ENROLLING_BY_INVITATION", 1),
    ("SUSPENDED", 1),
]
PHASES = [
    ["NA"],
    ["PHASE1"],
    ["PHASE2"],
    ["PHASE3"],
    ["PHASE4"],
    ["PHASE1", "PHASE2"],
    ["EARLY_PHASE1"],
    [],
]
COUNTRIES = [
    "United States",
    "China",
    "France",
    "Canada",
    "United Kingdom",
    "Germany",
    "Spain",
    "Italy",
    "Korea, Republic of",
    "Japan",
    "Egypt",
    "Brazil",
    "Taiwan",
    "Hong Kong",
    "Australia",
    "India",
    "Turkey",
    "Netherlands",
    "Belgium",
    "Denmark",
]
#: The old corpus's topic lists, kept as the ``dense`` profile: nearly every record names
#: diabetes or a stem-cell product, the worst case for classification and for text search.
CONDITIONS = [
    "Type 1 Diabetes",
    "Type 2 Diabetes Mellitus",
    "Breast Cancer",
    "Hypertension",
    "Diabetic Foot Ulcer",
    "Asthma",
    "HIV Infections",
    "Depression",
    "Obesity",
    "Diabetic Nephropathy",
    "Critical Limb Ischemia",
    "Stroke",
    "Heart Failure",
    "COVID-19",
    "Rheumatoid Arthritis",
    "Lung Cancer",
    "Alzheimer Disease",
    "Chronic Kidney Disease",
]
INTERVENTIONS = [
    ("DRUG", "Metformin"),
    ("BIOLOGICAL", "Umbilical cord mesenchymal stem cells"),
    ("DRUG", "Placebo"),
    ("BEHAVIORAL", "Exercise program"),
    ("DEVICE", "Insulin pump"),
    ("PROCEDURE", "Autologous hematopoietic stem cell transplantation"),
    ("BIOLOGICAL", "Bone marrow mononuclear cells"),
    ("DRUG", "Insulin glargine"),
    ("OTHER", "Standard of care"),
    ("DIETARY_SUPPLEMENT", "Vitamin D"),
]
WORDS = (
    "patients with the of and in to a study treatment efficacy safety randomized controlled "
    "trial phase outcome primary secondary glucose insulin cells therapy weeks months dose "
    "evaluate participants compared placebo group baseline change clinical"
).split()

# --- the ``registry`` profile (default): topics as rare as in the registry -------------------
# Shares are approximations stated here, not measurements: about 1 registered study in 20
# concerns diabetes and about 1 in 70 tests a cell or stem-cell product (most of them
# haematopoietic transplants in cancer), so a stem-cell diabetes study is about 1 in 1,500;
# most studies name conditions and products from a long tail.
DIABETES_SHARE = 0.05
CELL_SHARE = 0.015
DIABETES = [
    ("Type 2 Diabetes Mellitus", 50),
    ("Type 1 Diabetes", 20),
    ("Diabetes Mellitus", 10),
    ("Gestational Diabetes", 6),
    ("Diabetic Foot Ulcer", 5),
    ("Diabetic Nephropathy", 5),
    ("Diabetic Retinopathy", 4),
]
CELL_PRODUCTS = [
    (("PROCEDURE", "Autologous hematopoietic stem cell transplantation"), 40),
    (("BIOLOGICAL", "Allogeneic hematopoietic stem cell transplantation"), 25),
    (("BIOLOGICAL", "Umbilical cord mesenchymal stem cells"), 10),
    (("BIOLOGICAL", "Bone marrow mesenchymal stromal cells"), 8),
    (("BIOLOGICAL", "Adipose-derived stem cells"), 7),
    (("BIOLOGICAL", "Bone marrow mononuclear cells"), 6),
    (("BIOLOGICAL", "CAR-T cells"), 30),
    (("BIOLOGICAL", "Stem cell-derived islets"), 1),
]
COMMON_CONDITIONS = (
    "Breast Cancer|Hypertension|Asthma|HIV Infections|Depression|Obesity|Stroke|Heart Failure|"
    "COVID-19|Rheumatoid Arthritis|Lung Cancer|Alzheimer Disease|Chronic Kidney Disease|"
    "Prostate Cancer|Colorectal Cancer|Schizophrenia|Parkinson Disease|Multiple Sclerosis|"
    "Osteoarthritis|Chronic Pain|Atrial Fibrillation|Coronary Artery Disease|Psoriasis|"
    "Hepatitis C|Influenza|Migraine|Anxiety|Insomnia|Smoking Cessation|Healthy Volunteers|"
    "Pancreatic Cancer|Lymphoma|Leukemia|Multiple Myeloma|Sepsis|Pneumonia|Cystic Fibrosis|"
    "Crohn Disease|Ulcerative Colitis|Glaucoma|Macular Degeneration|Epilepsy|Autism|"
    "Alcohol Use Disorder|Opioid Use Disorder|Low Back Pain|Knee Osteoarthritis|Preterm Birth"
).split("|")
_ADJECTIVES = (
    "Chronic Acute Recurrent Advanced Metastatic Refractory Severe Mild Primary Secondary "
    "Idiopathic Hereditary Congenital Postoperative Neonatal Pediatric Adult Early Late Locally"
).split()
_ORGANS = (
    "Hepatic Renal Pulmonary Cardiac Gastric Ovarian Cervical Thyroid Bladder Skin Bone "
    "Muscle Spinal Retinal Corneal Dental Oral Nasal Vascular Lymphatic Biliary Esophageal "
    "Intestinal Uterine Testicular Adrenal Pituitary Cerebral Joint Tendon"
).split()
_DISEASES = (
    "Fibrosis Inflammation Carcinoma Insufficiency Infection Dysfunction Syndrome Lesion "
    "Neoplasm Stenosis Injury Disorder Failure Ulcer Neuropathy Hypertrophy Atrophy "
    "Hemorrhage Thrombosis Sarcoma"
).split()
COMMON_DRUGS = (
    "Atorvastatin|Pembrolizumab|Nivolumab|Aspirin|Vitamin D3|Dexamethasone|Ibuprofen|"
    "Paclitaxel|Cisplatin|Rituximab|Adalimumab|Omeprazole|Ketamine|Morphine|Lidocaine|"
    "Propofol|Tranexamic Acid|Semaglutide|Dapagliflozin|Empagliflozin|Sitagliptin|"
    "Metformin|Insulin glargine|Liraglutide|Amoxicillin|Azithromycin|Remdesivir|Tenofovir|"
    "Sertraline|Escitalopram|Bupropion|Melatonin|Prednisone|Methotrexate|Tocilizumab"
).split("|")
OTHER_INTERVENTIONS = [
    ("BEHAVIORAL", "Exercise program"),
    ("BEHAVIORAL", "Cognitive behavioral therapy"),
    ("BEHAVIORAL", "Mobile health education"),
    ("DEVICE", "Continuous glucose monitor"),
    ("DEVICE", "Transcranial magnetic stimulation"),
    ("PROCEDURE", "Laparoscopic surgery"),
    ("OTHER", "Standard of care"),
    ("OTHER", "Questionnaire"),
    ("DIETARY_SUPPLEMENT", "Omega-3 fatty acids"),
    ("DIAGNOSTIC_TEST", "Blood sampling"),
]
#: Topic-free prose for summaries and descriptions (a record's own topic words are added).
PROSE = (
    "the this study will evaluate assess compare determine investigate whether effect efficacy "
    "safety tolerability of in on with among for and or to a an patients participants subjects "
    "adults children randomized controlled open label double blind single center multicenter "
    "prospective retrospective cohort trial phase primary secondary endpoint outcome measure "
    "baseline change from at week weeks month months year follow up visit dose doses daily "
    "twice once oral intravenous administration group groups arm arms versus compared usual "
    "care quality life score scale questionnaire adverse events serious laboratory values "
    "clinical response rate overall survival progression free time hospital stay discharge "
    "recruitment enrollment eligibility inclusion exclusion criteria informed consent data "
    "analysis statistical sample size power"
).split()


def _pick(rng: random.Random, weighted: list) -> object:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _tail_condition(rng: random.Random) -> str:
    # a long tail of about 12,000 names, common ones far more often (Pareto ranks)
    k = min(int(rng.paretovariate(1.1)) - 1, 20 * 30 * 20 - 1)
    return f"{_ADJECTIVES[k % 20]} {_ORGANS[(k // 20) % 30]} {_DISEASES[(k // 600) % 20]}"


def _prose(rng: random.Random, k: int, topic: list[str]) -> str:
    words = rng.choices(PROSE, k=k)
    for word in topic:  # the record's own topic, a few times, as a real summary repeats it
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words) + 1), word)
    return " ".join(words)


def registry_topic(rng: random.Random) -> tuple[list[str], list[tuple[str, str]]]:
    """A record's conditions and interventions, drawn with registry-like rarity."""
    conditions = []
    if rng.random() < DIABETES_SHARE:
        conditions.append(_pick(rng, DIABETES))
    while len(conditions) < rng.choices([1, 2, 3], [70, 22, 8])[0]:
        name = rng.choice(COMMON_CONDITIONS) if rng.random() < 0.5 else _tail_condition(rng)
        conditions.append(name)
    interventions: list[tuple[str, str]] = []
    if rng.random() < CELL_SHARE:
        interventions.append(_pick(rng, CELL_PRODUCTS))
    if rng.random() < 0.25:
        interventions.append(("DRUG", "Placebo"))
    while len(interventions) < rng.choices([1, 2, 3, 4], [50, 30, 12, 8])[0]:
        roll = rng.random()
        if roll < 0.35:
            interventions.append(("DRUG", rng.choice(COMMON_DRUGS)))
        elif roll < 0.75:  # an industry code, as most investigational products are named
            letters = "".join(rng.choices("ABCDEFGHJKLMNPRSTVXZ", k=rng.randint(2, 4)))
            interventions.append(("DRUG", f"{letters}-{rng.randint(100, 99999)}"))
        else:
            interventions.append(rng.choice(OTHER_INTERVENTIONS))
    return list(dict.fromkeys(conditions)), list(dict.fromkeys(interventions))


def study(i: int, rng: random.Random, profile: str = "registry") -> dict:
    """One synthetic study in the v2 shape (``profile``: ``registry`` or ``dense``)."""
    nct = f"NCT{10_000_000 + i:08d}"
    if profile == "dense":
        cond = rng.sample(CONDITIONS, rng.randint(1, 3))
        ivs = rng.sample(INTERVENTIONS, rng.randint(1, 3))
        summary = " ".join(rng.choices(WORDS, k=rng.randint(50, 300)))
        eligibility = " ".join(rng.choices(WORDS, k=rng.randint(50, 250)))
        describe = lambda: " ".join(rng.choices(WORDS, k=20))  # noqa: E731
        title_words = WORDS
        extra: dict = {}
    else:
        cond, ivs = registry_topic(rng)
        topic = [cond[0].lower(), ivs[0][1].lower()]
        summary = _prose(rng, int(rng.lognormvariate(4.3, 0.6)), topic)
        eligibility = _prose(rng, int(rng.lognormvariate(5.3, 0.7)), [cond[0].lower()])
        describe = lambda: _prose(rng, rng.randint(5, 40), [])  # noqa: E731
        title_words = PROSE
        extra = {
            "detailedDescription": _prose(rng, int(rng.lognormvariate(5.2, 1.0)), topic)
            if rng.random() < 0.65
            else None
        }
    status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
    year = rng.randint(2000, 2025)
    n_sites = rng.choices([0, 1, 2, 5, 12], [10, 55, 15, 12, 8])[0]
    country = rng.choice(COUNTRIES)
    ident = {
        "nctId": nct,
        "orgStudyIdInfo": {"id": f"ORG-{i}"},
        "briefTitle": f"{ivs[0][1]} for {cond[0]} {' '.join(rng.choices(title_words, k=6))}",
        "officialTitle": f"A {rng.choice(['Randomized', 'Single-arm', 'Open-label'])} Study of "
        f"{ivs[0][1]} in {cond[0]}: {' '.join(rng.choices(title_words, k=10))}",
    }
    if rng.random() < 0.01:
        ident["secondaryIdInfos"] = [
            {
                "id": f"ChiCTR{year % 100:02d}{rng.randint(0, 10**8):08d}",
                "type": "REGISTRY",
                "domain": "ChiCTR",
            }
        ]
    description = {"briefSummary": summary}
    if extra.get("detailedDescription"):
        description["detailedDescription"] = extra["detailedDescription"]
    outcomes: dict = {"primaryOutcomes": [{"measure": "Change in HbA1c", "timeFrame": "24 weeks"}]}
    if profile != "dense":
        outcomes = {
            key: [
                {
                    "measure": _prose(rng, rng.randint(3, 12), []).capitalize(),
                    "description": _prose(rng, rng.randint(0, 40), []),
                    "timeFrame": f"{rng.choice([4, 12, 24, 52])} weeks",
                }
                for _ in range(count)
            ]
            for key, count in (
                ("primaryOutcomes", rng.randint(1, 3)),
                ("secondaryOutcomes", rng.choices(range(11), [15] + [9] * 10)[0]),
            )
            if count
        }
    return {
        "protocolSection": {
            "identificationModule": ident,
            "statusModule": {
                "overallStatus": status,
                "startDateStruct": {"date": f"{year}-{rng.randint(1, 12):02d}"},
                "completionDateStruct": {
                    "date": f"{year + rng.randint(1, 5)}-{rng.randint(1, 12):02d}-01"
                },
                "studyFirstPostDateStruct": {
                    "date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                },
                "lastUpdatePostDateStruct": {
                    "date": f"{min(year + rng.randint(0, 6), 2025)}-01-15"
                },
            },
            "sponsorCollaboratorsModule": {
                "leadSponsor": {"name": f"Sponsor {rng.randint(1, 20000)}", "class": "OTHER"}
            },
            "descriptionModule": description,
            "conditionsModule": {"conditions": cond},
            "designModule": {
                "studyType": "INTERVENTIONAL",
                "phases": rng.choice(PHASES),
                "designInfo": {
                    "allocation": "RANDOMIZED",
                    "interventionModel": "PARALLEL",
                    "primaryPurpose": "TREATMENT",
                    "maskingInfo": {"masking": "DOUBLE"},
                },
                "enrollmentInfo": {"count": int(rng.lognormvariate(4, 1.2)), "type": "ACTUAL"},
            },
            "armsInterventionsModule": {
                "interventions": [{"type": t, "name": n, "description": describe()} for t, n in ivs]
            },
            "outcomesModule": outcomes,
            "eligibilityModule": {"eligibilityCriteria": eligibility},
            "contactsLocationsModule": {
                "locations": [
                    {
                        "facility": f"{country} Hospital {rng.randint(1, 3000)}",
                        "city": f"City {rng.randint(1, 500)}",
                        "state": f"State {rng.randint(1, 40)}",
                        "country": country,
                    }
                    for _ in range(n_sites)
                ]
            },
        },
        "hasResults": False,
    }


def write_corpus(path: Path, n: int, seed: int = 1, profile: str = "registry") -> float:
    """Write the corpus; returns the mean size of a study's JSON in bytes."""
    rng = random.Random(seed)
    size = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(n):
            nct = f"NCT{10_000_000 + i:08d}"
            text = json.dumps(study(i, rng, profile))
            zf.writestr(f"{nct[:7]}xxxx/{nct}.json", text)
            size += len(text.encode())
    return size / n


class PeakRss:
    """Samples the resident memory of this process and its children (the ingest worker) every
    50 ms and keeps the peak of their sum.

    Finding the children walks every process on the machine (~0.9 ms, which every 50 ms took
    ~2 % of the writer's core), so they are looked up once a second and only read between.
    """

    #: samples between two lookups of the children
    REFRESH = 20

    def __init__(self) -> None:
        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._children: list[psutil.Process] = []

    def _rss(self, refresh: bool = True) -> int:
        if refresh:
            self._children = self.proc.children(recursive=True)
        total = self.proc.memory_info().rss
        for child in self._children:
            try:
                total += child.memory_info().rss
            except psutil.Error:  # a worker that just exited
                pass
        return total

    def _run(self) -> None:
        samples = 0
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss(refresh=samples % self.REFRESH == 0))
            samples += 1
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


#: Studies ``calibrate`` prepares, and how many times (it keeps the fastest).
CALIBRATION_STUDIES = 1000
CALIBRATION_ROUNDS = 3


def calibrate(corpus: Path, db_path: Path) -> float:
    """Milliseconds this machine takes, now, to prepare (map, validate, classify, shape) the
    corpus's first ``CALIBRATION_STUDIES`` studies in one process, the fastest of
    ``CALIBRATION_ROUNDS``.

    The 2-core machines here run 5–10 % faster or slower from one hour to the next, as much as
    a change under test gains, so a run's throughput says little next to another hour's; this
    figure, taken just before the load, says how fast the machine was. Run in a child process,
    so that the load starts with its memos (institution names, classifier texts) empty.
    """
    db = Database(f"sqlite:///{db_path}")
    db.init()
    load_institutions(db, bundled.institutions_file(), Report())
    pipeline = Pipeline(db, ctgov_dump.SOURCE, ctgov.raw_to_record)
    raws = next(batched(ctgov_dump.read_dump(corpus), CALIBRATION_STUDIES))
    fastest = float("inf")
    for _ in range(CALIBRATION_ROUNDS):
        start = time.perf_counter()
        prepare(raws, ctgov.raw_to_record).shape(pipeline.shaper, pipeline.salt)
        fastest = min(fastest, time.perf_counter() - start)
    db.dispose()
    db_path.unlink()
    return fastest * 1000


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user and system) of this process and of its children that have ended (the
    ingest worker, once joined). What a load costs the machine, next to how long it took: the
    two processes share the work, so it is the sum that a change has to lower."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def measure(n: int, workdir: Path, db_path: Path, workers: int | None, profile: str) -> dict:
    # written by a child process, so the memory of generating it is not counted as ingest's
    # (nor that of reading the zip's directory: 500k entries left ~300 MB in this process)
    corpus = workdir / f"corpus-{n}.zip"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        mean_bytes = pool.submit(write_corpus, corpus, n, 1, profile).result()
        calibration = pool.submit(calibrate, corpus, workdir / "calibrate.db").result()
    db_path.unlink(missing_ok=True)
    load = os.getloadavg()[0]  # other work on the machine slows the run: say how much there was
    db = Database(f"sqlite:///{db_path}")
    db.init()
    load_institutions(db, bundled.institutions_file(), Report())
    written = [0.0]  # when the last batch was committed (each commit reports its progress)
    with PeakRss() as rss:
        before = cpu_seconds()
        start = time.perf_counter()
        report = run_dump(  # in batches of its default size, as `ingest ctgov-dump` writes
            db,
            corpus,
            workers=workers,
            progress=lambda _: written.__setitem__(0, time.perf_counter()),
        )
        seconds = time.perf_counter() - start
        after = cpu_seconds()
    loaded = written[0] - start
    used = [round(end - begin, 2) for end, begin in zip(after, before, strict=True)]
    db.dispose()
    corpus.unlink()
    assert report.new == n, report.to_dict()
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "records_per_s": round(n / seconds, 1),
        "peak_rss_mb": round(rss.peak / 2**20, 1),
        "new": report.new,
        "quarantined": report.quarantined,
        "workers": workers or "default",
        "profile": profile,
        "mean_record_bytes": round(mean_bytes),
        "load_average_before": round(load, 2),
        "calibration_ms": round(calibration, 1),
        "cpu_s": {"writer": used[0], "worker": used[1]},
        "cpu_us_per_record": round(sum(used) / n * 1e6, 1),
        "batches_written_s": round(loaded, 2),
        "batches_records_per_s": round(n / loaded, 1),
        "serial_end_s": round(seconds - loaded, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("bench-ingest.json"))
    parser.add_argument("--db", type=Path, help="keep the database here (for benchmarks/search.py)")
    parser.add_argument(
        "--workers", type=int, help="processes (1: no worker; default: run_dump's default)"
    )
    parser.add_argument(
        "--profile",
        choices=["registry", "dense"],
        default="registry",
        help="registry: topics as rare as in the registry; dense: nearly every record a "
        "diabetes or stem-cell record (the worst case)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline = measure(
            max(args.n // 10, 1000), work, work / "baseline.db", args.workers, args.profile
        )
        result = measure(args.n, work, args.db or work / "bench.db", args.workers, args.profile)
    result["baseline"] = baseline
    result["throughput_ratio_vs_baseline"] = round(
        result["records_per_s"] / baseline["records_per_s"], 3
    )
    result["goal"] = {"records_per_s": 5000, "peak_rss_mb": 1024}
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
