"""Build the census data files: screening.jsonl and the counts in protocol.yaml.

Run from anywhere: ``python scripts/build_census.py``. Paths are relative to the repository root.
Inputs: the bundled trial files (src/isletbase/data/trials/*.jsonl), the export sweep record
(src/isletbase/data/census/export_sweep.yaml) and the earlier research rows (trials.jsonl,
trials_more.jsonl) in ``ISLETBASE_SHARED`` (default: ``../shared/data`` next to the repository).
Then regenerate the flow diagram: ``isletbase census --svg src/isletbase/data/census/flow.svg``.
"""

# ruff: noqa: E501, E701, E702, E731
import json
import os
import pathlib

import yaml

from isletbase.model import TrialRecord
from isletbase.taxonomy import classify_record

REPO = pathlib.Path(__file__).resolve().parents[1]
ROOT = REPO / "src" / "isletbase" / "data"
SHARED = pathlib.Path(os.environ.get("ISLETBASE_SHARED", REPO.parent / "shared" / "data"))
D = "2026-11-25"
D2 = "2026-11-28"  # the top-up rounds (queries q21-q84, c09-c17; then q85-q115)

rows = []


def code(reason):
    r = reason.lower()
    if reason.startswith("[") and "]" in reason:
        return reason[1 : reason.index("]")]
    if "not diabetes-specific" in r:
        return "not-diabetes"
    if "no site in china" in r:
        return "not-china"
    if "not seen" in r and ("site" in r or "location" in r) and "registry id" not in r:
        return "location-not-seen"
    if "not a trial registry record" in r or "not a registered trial record" in r:
        return "not-a-trial-record"
    if "registry id" in r or "registration number" in r or "regulatory approval" in r:
        return "no-registry-id"
    raise SystemExit("no code for " + reason)


def row(
    rid,
    registry,
    source,
    query,
    url,
    decision,
    reason=None,
    duplicate_of=None,
    scope=None,
    complication=None,
    in_file=None,
    title=None,
    note=None,
    screened=D,
):
    rows.append(
        {
            k: v
            for k, v in dict(
                id=rid,
                registry=registry,
                title=title,
                source=source,
                query=query,
                url=url,
                decision=decision,
                exclusion=code(reason) if decision == "excluded" else None,
                reason=reason,
                duplicate_of=duplicate_of,
                scope=scope,
                complication=complication,
                in_file=in_file,
                screened=screened,
                note=note,
            ).items()
        }
    )


VERIFIED = {
    "NCT01350219": "China sites (Shijiazhuang, Changsha, Jinan) shown in PMC5107652 table 3 (q14)",
    "NCT02834858": "site the Third Affiliated Hospital of Southern Medical University, Guangzhou, Guangdong, China shown in mapClinical CSV row 70 (c01)",
    "NCT05999656": "sponsor The First Affiliated Hospital with Nanjing Medical University, id 2022-SR-752 shown on centerwatch.com (q15)",
}
NOT_DIABETES = {"NCT02336646": "condition critical limb ischaemia not diabetes-specific"}
shared_ids = set()
for fname in ("trials.jsonl", "trials_more.jsonl"):
    for line in (SHARED / fname).open(encoding="utf-8"):
        r = json.loads(line)
        rid, reg, region = r["id"], r["registry"], r.get("region") or ""
        shared_ids.add(rid)
        cond = r.get("condition") or ""
        comp = cond.split(":", 1)[1].strip() if cond.startswith("complication:") else None
        src, url, title = f"shared:{fname}", r.get("source_url"), r.get("title")
        regname = reg if reg in ("ClinicalTrials.gov", "ChiCTR") else "other"
        if rid in NOT_DIABETES:
            row(
                rid,
                regname,
                src,
                None,
                url,
                "excluded",
                NOT_DIABETES[rid],
                title=title,
                complication=comp,
            )
        elif rid in VERIFIED:
            row(
                rid,
                regname,
                src,
                None,
                url,
                "included",
                scope="china",
                complication=comp,
                in_file="core",
                title=title,
                note="China location verified in this census: " + VERIFIED[rid],
            )
        elif reg.startswith(("publication", "hospital news", "thesis")):
            row(
                rid,
                "other",
                src,
                None,
                url,
                "excluded",
                "not a registered trial record (publication/news; no registry id seen)",
                title=title,
                complication=comp,
            )
        elif reg.startswith("NMPA IND") or reg.startswith("NHC"):
            row(
                rid,
                "other",
                src,
                None,
                url,
                "excluded",
                "regulatory approval or project announcement; no trial registration number seen",
                title=title,
                complication=comp,
            )
        elif "CTR number not seen" in reg or "registration number not seen" in reg:
            row(
                rid,
                "other",
                src,
                None,
                url,
                "excluded",
                "registration number not seen",
                title=title,
                complication=comp,
            )
        elif region.startswith("unverified"):
            row(
                rid,
                regname,
                src,
                None,
                url,
                "excluded",
                "site in China/HK/Macau/Taiwan not seen on stored pages",
                title=title,
                complication=comp,
            )
        elif region.startswith("comparator"):
            row(
                rid,
                regname,
                src,
                None,
                url,
                "included",
                scope="comparator",
                complication=comp,
                in_file="core",
                title=title,
                note=None
                if regname != "other"
                else "key comparator known from news/company pages; registry record not seen",
            )
        elif region.startswith(("mainland China", "Taiwan")):
            row(
                rid,
                regname,
                src,
                None,
                url,
                "included",
                scope="china",
                complication=comp,
                in_file="core",
                title=title,
            )
        else:
            raise SystemExit(f"unhandled shared row {rid} {reg} {region}")


# --- search hits -------------------------------------------------------------------------------
def dup(rid, q, url, reg="ClinicalTrials.gov"):
    assert rid in shared_ids or rid in census_ids or any(r["id"] == rid for r in rows), rid
    row(rid, reg, "pages" if q.startswith("q") else "code", q, url, "duplicate", duplicate_of=rid)


def excl(rid, q, url, reason, title=None, reg="other"):
    row(rid, reg, "pages" if q.startswith("q") else "code", q, url, "excluded", reason, title=title)


census_ids = {"NCT03248466", "NCT01068951", "NCT03509870", "NCT03840343"}
PUB = "publication, review or news page, not a trial registry record"
# q01
excl(
    "page:stemcellres:10.1186/s13287-022-02848-6",
    "q01",
    "https://stemcellres.biomedcentral.com/articles/10.1186/s13287-022-02848-6",
    PUB,
)
excl("page:gxbzyk.com/detail/44/858", "q01", "http://www.gxbzyk.com/detail/44/858.html", PUB)
dup("NCT04441658", "q01", "https://crick.ai/trials/NCT04441658")
dup("NCT01413035", "q01", "https://trials.co/clinical-trials-details/-/NCT01413035")
for i in ("NCT01219465", "NCT01374854", "NCT03835312"):
    dup(
        i,
        "q01",
        "https://cn.healthcord.com/avada_faq/follow-is-a-summary-of-clinical-trial-investigating-the-use-of-cord-blood-and-cord-tissue-stem-cells-to-treat-t1d/",
    )
# q02
excl(
    "page:viecells.com/diabetic-foot-ulcers",
    "q02",
    "https://www.viecells.com/services/diabetic-foot-ulcers/",
    "commercial service page, not a trial registry record",
)
excl(
    "page:stemcellres:10.1186/s13287-022-03143-0",
    "q02",
    "https://stemcellres.biomedcentral.com/articles/10.1186/s13287-022-03143-0",
    PUB + " (phase I hUC-MSC DFU study; registry id not shown in excerpt)",
)
dup("NCT05999656", "q02", "https://classic.clinicaltrials.gov/ct2/show/NCT05999656")
dup("NCT01216865", "q02", "https://crick.ai/trials/NCT01216865")
dup(
    "NCT04464213",
    "q02",
    "https://ctv.veeva.com/study/human-placental-mesenchymal-stem-cells-treatment-on-diabetic-foot-ulcer",
)
excl(
    "page:diabetesjournals:68/4/837",
    "q02",
    "https://diabetesjournals.org/diabetes/article-split/68/4/837/39767/Potential-of-Allogeneic-Adipose-Derived-Stem-Cell",
    PUB,
)
# q03
for u in (
    "http://www.ailecun.com/reference_detail?id=7",
    "https://www.hjtdsm.com/sc/zhiliao/57568.html",
    "https://m.fx361.com/news/2015/0410/20976511.html",
    "https://www.hjtdsm.com/sc/zhiliao/57591.html",
    "http://m.cnsteyr.com/college_view-103.html",
):
    excl("page:" + u.split("//", 1)[1], "q03", u, PUB)
excl(
    "medifind:533996422",
    "q03",
    "https://www.medifind.com/procedures/islet-cell-transplantation/6666/clinical-trial/533996422",
    "registry id not seen (UC-MSC plus allogeneic islet transplantation; also trialx listing 312941)",
    title="Investigation of Dose Escalation and Dose Expansion Study on the Safety and Efficacy of Allogeneic Human Umbilical Cord Mesenchymal Stem Cells Combined With Allogeneic Islet Transplantation for the Treatment of Diabetes",
)
# q04
dup(
    "NCT06969807",
    "q04",
    "https://www.medifind.com/conditions/diabetic-nephropathy/1581/clinical-trial/563902982",
)
excl("page:medsci.org/v22p1720", "q04", "https://medsci.org/v22p1720.htm", PUB)
dup("NCT04216849", "q04", "https://crick.ai/trials/NCT04216849")
excl(
    "page:stemcellres:10.1186/s13287-020-02108-5",
    "q04",
    "https://stemcellres.biomedcentral.com/articles/10.1186/s13287-020-02108-5",
    PUB,
)
excl(
    "page:cellstemcell.org/PSC/403",
    "q04",
    "https://cellstemcell.org/index.php/PSC/article/view/403",
    PUB,
)
dup(
    "NCT04562025",
    "q04",
    "https://www.clinicaltrialexchange.com/clinical-trials/Clinical-Research-of-UC-MSCs-in-the-Treatment-of-Diabetic-Nephropathy/NCT04562025",
)
excl(
    "page:springer:10.1007/s11892-016-0734-6",
    "q04",
    "https://link.springer.com/doi/10.1007/s11892-016-0734-6",
    PUB,
)
# q05
dup("NCT01937416", "q05", "https://crick.ai/trials/NCT01937416")
dup("NCT00955669", "q05", "http://www.knowcancer.com/cancer-trials/NCT00955669/")
excl(
    "page:thestemcellfoundation.com/2016/04/25",
    "q05",
    "https://thestemcellfoundation.com/2016/04/25/comparison-of-bone-marrow-mesenchymal-stem-cells-with-bone-marrow-derived-mononuclear-cells-for-treatment-of-diabetic-critical-limb-ischemia-and-foot-ulcer-a-double-blind-randomized-controlled-tria-2/",
    PUB,
)
excl(
    "NCT01065337",
    "q05",
    "https://trials.co/clinical-trials-details/induced-wound-healing-by-application-of-expanded-bone-marrow-stem-cells-in-diabetic-patients-with-critical-limb-ischemia/NCT01065337",
    "no site in China (Germany); not a key comparator",
    reg="ClinicalTrials.gov",
    title="Induced Wound Healing by Application of Expanded Bone Marrow Stem Cells in Diabetic Patients With Critical Limb Ischemia",
)
excl(
    "page:spandidos:10.3892/etm.2015.2888",
    "q05",
    "https://www.spandidos-publications.com/10.3892/etm.2015.2888?text=fulltext",
    PUB,
)
# q06
dup(
    "NCT06407297",
    "q06",
    "https://www.medifind.com/conditions/type-1-diabetes/1575/clinical-trial/518754429",
)
dup("NCT02763423", "q06", "https://crick.ai/trials/NCT02763423")
row(
    "NCT01341899",
    "ClinicalTrials.gov",
    "pages",
    "q06",
    "https://ctv.veeva.com/study/efficacy-and-safety-study-of-autologous-hematopoietic-stem-cell-transplantation-to-treat-new-onset-t",
    "included",
    scope="china",
    in_file="core",
    note="not in the shared files; found here (q06) and also present in core.jsonl; China site (Nanjing, Jiangsu) confirmed by PMC5107652 table 3 (q14)",
    title="Efficacy and Safety Study of Autologous Hematopoietic Stem Cell Transplantation to Treat New Onset Type 1 Diabetes",
)
dup(
    "NCT00807651",
    "q06",
    "https://trial.medpath.com/clinical-trial/282cace9023ed4ff/safety-efficacy-study-autologous-stem-cell-transplantation-type-1-diabetes",
)
excl("page:pubmed:22419704", "q06", "http://pubmed.ncbi.nlm.nih.gov/22419704/", PUB)
excl(
    "page:frontiers:10.3389/fendo.2017.00331",
    "q06",
    "https://public-pages-files-2025.frontiersin.org/journals/endocrinology/articles/10.3389/fendo.2017.00331/xml",
    PUB,
)
excl("page:scholarmate:8a3QZi", "q06", "https://www.scholarmate.com/S/8a3QZi", PUB)
# q07
dup(
    "NCT06969807",
    "q07",
    "https://ctv.veeva.com/study/safety-and-efficacy-of-mesenchymal-stromal-cells-amimestrocel-in-diabetic-kidney-disease",
)
row(
    "NCT03840343",
    "ClinicalTrials.gov",
    "pages",
    "q07",
    "https://crick.ai/trials/NCT03840343",
    "included",
    scope="comparator",
    complication="diabetic kidney disease",
    in_file="census",
    title="autologous adipose MSC, progressive diabetic kidney disease (Mayo Clinic)",
)
# q08
dup(
    "medifind:533996422",
    "q08",
    "https://www.trialx.com/clinical-trials/listings/312941/ucmscs-combined-with-allogeneic-islet-transplantation-for-the-treatment-of-diabetes/?radius=50",
    reg="other",
)
excl(
    "page:hindawi:sci/2022/8637493",
    "q08",
    "https://preview.hindawi.com/journals/sci/2022/8637493/tab2",
    PUB,
)
excl(
    "page:scribd:647217245",
    "q08",
    "https://www.scribd.com/document/647217245/diabetes-1-y-celuas-madre-2015",
    PUB + " (Cai et al. 2015, Fuzhou)",
)
excl(
    "page:bmrat:v4i1.144",
    "q08",
    "https://bmrat.biomedpress.org/index.php/BMRAT/article/download/144/457/479",
    PUB,
)
# q09
for u in (
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC4844188",
    "https://www.peertechzpublications.com/articles/SSCRT-7-117.php",
    "https://wjgnet.com/1948-0210/full/v13/i10/1549.htm",
    "https://bpgweb.azurewebsites.net/1948-9358/abstract/v12/i12/2000.htm",
    "https://www.storzmedical.com/en/disciplines/literature-database-blog/database-cpps-ipp-ed/ji-yh-et-al-2025",
    "http://mji.ui.ac.id/journal/index.php/mji/article/download/4475/2120?inline=1",
    "https://fx361.cc/page/2021/1102/12354989.shtml",
):
    excl("page:" + u.split("//", 1)[1], "q09", u, PUB)
# q10
excl(
    "page:tianhecell.com/blog/2019/4/25",
    "q10",
    "http://www.tianhecell.com/blog/2019/4/25/stem-cell-educator-therapy-remains-the-global-leading-technology-for-the-treatment-of-type-1-diabetes",
    PUB,
)
dup("NCT01350219", "q10", "https://www.clinicaltrials.gov/ct2/show/NCT01350219")
dup("NCT01996228", "q10", "https://crick.ai/trials/NCT01996228")
dup("NCT03390231", "q10", "https://crick.ai/trials/NCT03390231")
for i, t in (
    ("NCT04011020", "Clinical Application of Stem Cell Educator Therapy in Type 1 Diabetes"),
    (
        "NCT02624804",
        "A Pilot Study of the Therapeutic Potential of Stem Cell Educator Therapy in Type 1 Diabetes",
    ),
):
    excl(
        i,
        "q10",
        "https://meddatax.com/clinical-trials/NCT01350219",
        "site location not seen on stored pages (listed only as a related trial)",
        title=t,
        reg="ClinicalTrials.gov",
    )
# q11
excl(
    "withpower:phase-2-and-3-diabetes-mellitus-9-2021-c1332",
    "q11",
    "https://withpower.com/trial/phase-2-and-3-diabetes-mellitus-9-2021-c1332",
    "registry id and China site not seen (Stem Cell Educator trial, Throne Biotechnologies)",
)
excl(
    "page:springer:10.1007/s00125-023-05934-3",
    "q11",
    "https://link.springer.com/doi/10.1007/s00125-023-05934-3",
    PUB,
)
# q12
dup(
    "NCT06407297",
    "q12",
    "https://ctv.veeva.com/study/ucmscs-combined-with-standard-therapy-for-the-treatment-of-newly-diagnosed-type-1-diabetes",
)
# q13
excl(
    "ChiCTR2600125807",
    "q13",
    "https://www.chictr.org.cn/hvshowproject.html?id=303285",
    "chronic wounds, not diabetes-specific; allogeneic cell sheet not shown as stem-cell-derived",
    reg="ChiCTR",
    title="异体细胞膜片在慢性创面有效性和安全性的研究 / Study on the efficacy and safety of allogeneic cell sheet in chronic wounds",
)
excl(
    "page:napstic:0120150801461708",
    "q13",
    "https://opaj.napstic.cn/periodicalArticle/0120150801461708",
    PUB + " (CJTER 2015 analysis: 5 ChiCTR diabetes stem-cell trials 2008-2014, ids not given)",
)
# q14
excl(
    "page:taiwanclinicaltrials.tw/tctc/member/14",
    "q14",
    "https://www.taiwanclinicaltrials.tw/tctc/member/14",
    PUB,
)
excl(
    "page:PMC5107652/tbl03",
    "q14",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC5107652/table/tbl03",
    PUB + " (table of trials; used to verify locations of NCT01341899 and NCT01350219)",
)
dup(
    "NCT01142050",
    "q14",
    "https://trial.medpath.com/clinical-trial/ce1ef5a4d31b7603/safety-efficacy-pilot-study-insulin-resistance-diabetes",
)
dup("NCT01413035", "q14", "https://ignite-sd.com/clinical/show/descriptionmodule/64711")
dup("NCT03658655", "q14", "http://cdek.wustl.edu/trial/NCT03658655/")
# q15
excl(
    "NCT06231771",
    "q15",
    "https://www.clinicaltrialexchange.com/clinical-trials/Safety-and-Efficacy-of-Stem-Cells-for-Diabetic-Foot-Ulcer/NCT06231771",
    "no site in China (sponsor Supergenics Life Science Sdn. Bhd., Malaysia); not a key comparator",
    reg="ClinicalTrials.gov",
    title="Safety and Efficacy of Stem Cells for Diabetic Foot Ulcer",
)
dup(
    "NCT05999656",
    "q15",
    "https://www.centerwatch.com/clinical-trials/listings/NCT05999656/human-cord-blood-mononuclear-cells-in-the-treatment-of-refractory-diabetic-foot?id=727&slug=diabetes-and-hypertension",
)
# q16
dup(
    "NCT02304588",
    "q16",
    "https://ctv.veeva.com/study/stem-cell-therapy-for-patients-with-vascular-occlusive-diseases-such-as-diabetic-foot",
)
row(
    "NCT03248466",
    "ClinicalTrials.gov",
    "pages",
    "q16",
    "https://trial.medpath.com/clinical-trial/8c2a691b63b1ec8b/transplantation-autologous-platelet-rich-gel-diabetic-foot-ulcer",
    "included",
    scope="china",
    complication="diabetic foot ulcer",
    in_file="census",
    title="PRG Combined With Autologous BMMSCs for Treatment of Diabetic Foot Ulcer",
)
dup(
    "NCT02796079",
    "q16",
    "https://trial.medpath.com/clinical-trial/b787ca2036c2afc7/clinical-study-autologous-bone-marrow-stem-cell-diabetes-vascular-complications",
)
# q17
dup("NCT02302599", "q17", "https://api.ai-analytics.org/clinical/NCT02302599.md")
# q18-q20: only pages already logged or reviews
excl(
    "page:bmrat:v3i12.141",
    "q18",
    "http://bmrat.biomedpress.org/index.php/BMRAT/article/view/141",
    PUB + " (Vietnam case series)",
)
excl(
    "page:cjter:10.12307/2026.797",
    "q19",
    "https://www.cjter.com/EN/10.12307/2026.797",
    PUB + " (retrospective; already a lead in the shared file)",
)
excl(
    "page:spandidos:10.3892/etm.2018.6769",
    "q20",
    "https://www.spandidos-publications.com/10.3892/etm.2018.6769",
    PUB,
)
# code corpus
CSV = "https://github.com/jesnyder/mapClinical/blob/4d3d12fbb734fd725d26fa440d769287e70df691/user_provided/clinicalTrialsDownload/mesenchymal%20stem%20OR%20mesenchymal%20stromal.csv"
CSV2 = "https://github.com/jesnyder/mapClinical/blob/54e8ad1c921461f298e97fb146fad4d3d47416c8/program_generated/trialsFound/mesenchymal%20stem.csv"
dup("NCT01219465", "c01", CSV)
dup("NCT04125329", "c01", CSV)
dup("NCT02834858", "c01", CSV)
row(
    "NCT03509870",
    "ClinicalTrials.gov",
    "code",
    "c01",
    CSV,
    "included",
    scope="comparator",
    complication="diabetic foot ulcer",
    in_file="census",
    title="REDDSTAR (Denmark)",
)
row(
    "NCT01068951",
    "ClinicalTrials.gov",
    "code",
    "c01",
    CSV,
    "included",
    scope="comparator",
    in_file="census",
    title="Uppsala autologous MSC in new-onset T1D (Sweden)",
)
for i in ("NCT04125329", "NCT01219465", "NCT02302599", "NCT01216865", "NCT04441658", "NCT01157403"):
    dup(i, "c02", CSV2)
dup("NCT01068951", "c02", CSV2)
excl(
    "NCT04078308",
    "c02",
    CSV2,
    "site location not seen (list gives NCT id, conditions, title, intervention only)",
    reg="ClinicalTrials.gov",
    title="Mesenchymal Stem Cells Transplantation in Newly Diagnosed Type-1 Diabetes Patients",
)
for i in ("NCT02763423", "NCT01219465"):
    dup(
        i,
        "c03",
        f"https://github.com/ejaybennett/healthdata/blob/HEAD/CNNFORMAT/summaries3/{i}.story"
        if i == "NCT02763423"
        else "https://github.com/ejaybennett/healthdata/blob/HEAD/CNNFORMAT/summaries8/NCT01219465.story",
    )


# --- the top-up round of 2026-11-28 (q21-q84 pages, c09-c17 code) -------------------------------
# The searcher logged every query with its number of hits and the new ids it gave
# (queries.jsonl), and each record screened out (screened.jsonl), but not which already-screened
# records each query returned. The queries marked "hits itemised" in the protocol were run again
# on 2026-11-28 with the same words to list their registry-record hits; the others are logged
# with the candidates the searcher wrote down. Publications and news pages among the hits were
# read but, as in q18-q20, not logged one by one.
def dup2(rid, q, url, of, reg="ClinicalTrials.gov", note=None):
    """A record seen again in the round: ``rid`` as seen, ``of`` the screened record it repeats."""
    assert of in census_ids or any(r["id"] == of and r["decision"] != "duplicate" for r in rows), of
    row(rid, reg, "pages", q, url, "duplicate", duplicate_of=of, screened=D2, note=note)


def excl2(rid, q, url, reason, title, reg):
    row(
        rid,
        reg,
        "pages",
        q,
        url,
        "excluded",
        reason,
        title=title,
        screened=D2,
        note=None if q else UNLINKED,
    )


UNLINKED = "found in the top-up round of 2026-11-28; the searcher's log does not say by which query"
YSCRO = "https://yscro.com/cde/290513b76b5511ebaecddf7ef70d8ca7.html"
ZAOCAOTANG = "http://www.zaocaotang.cn/pro/10927.html"
BLV = "https://www.1blv.com/recruitDetail/1893.html"
HEALTHCORD = "https://cn.healthcord.com/avada_faq/follow-is-a-summary-of-clinical-trial-investigating-the-use-of-cord-blood-and-cord-tissue-stem-cells-to-treat-t1d/"
census_ids |= {"NCT04689425", "CTR20201158", "CTR20252968", "CTR20252355"}
# included: the four new trials (trials/census.jsonl)
row(
    "NCT04689425",
    "ClinicalTrials.gov",
    "pages",
    "q27",
    "https://api.ai-analytics.org/clinical/NCT04689425.md",
    "included",
    scope="china",
    complication="diabetic foot ulcer",
    in_file="census",
    title="Umbilical Cord Blood Mononuclear Cell Gel in the Treatment of Refractory Diabetic Foot Ulcer",
    note="umbilical cord-blood mononuclear cells with platelet-rich plasma, counted as the bundled cord-blood MNC trial NCT05999656 is; site Peking University Third Hospital, Beijing (crick.ai)",
    screened=D2,
)
row(
    "CTR20201158",
    "ChinaDrugTrials",
    "pages",
    "q75",
    YSCRO,
    "included",
    scope="china",
    complication="diabetic foot ulcer",
    in_file="census",
    title="人胎盘间充质干细胞凝胶治疗糖尿病足溃疡Ⅰ期临床试验",
    note="China's drug-trial registry record read through the yscro.com mirror (also zaocaotang.cn and 1blv.com); the same trial as the lead 1blv:recruit-1893, screened out on 2026-11-25 for want of a registration number",
    screened=D2,
)
for rid, url, title, note in (
    (
        "CTR20252968",
        "http://edit.yscro.com/cde/e629d74a65abf090bb69229be7ebce1a.html",
        "评价E10I治疗2型糖尿病的安全性、耐受性以及初步有效性的I期临床研究",
        "China's drug-trial registry record read through the yscro.com mirror; E10I is a human umbilical cord MSC injection (人脐带间充质干细胞注射液); China from 试验范围 国内试验",
    ),
    (
        "CTR20252355",
        "http://edit.yscro.com/cde/0fcac0babd9fef56beef96d4be267d97.html",
        "评价人脂肪干细胞注射液在2型糖尿病患者中的安全耐受性、初步有效性的I期临床试验",
        "China's drug-trial registry record read through the yscro.com mirror; GLP-1/FGF21-expressing adipose-derived stem cells; China from 试验范围 国内试验; the trial of the IND lead IND:Jiyuan-GLP1-FGF21-ADSC, screened out on 2026-11-25 for want of a registration number",
    ),
):
    row(
        rid,
        "ChinaDrugTrials",
        "pages",
        "q80",
        url,
        "included",
        scope="china",
        in_file="census",
        title=title,
        note=note,
        screened=D2,
    )
# hits of the queries run again (registry records only)
for q, hits in {
    "q22": (
        ("NCT04441658", "https://crick.ai/trials/NCT04441658"),
        ("NCT01413035", "https://trials.co/clinical-trials-details/-/NCT01413035"),
    ),
    "q23": (("NCT05999656", "https://trials.co/clinical-trials-details/-/NCT05999656"),),
    "q24": (
        ("NCT05999656", "https://trials.co/clinical-trials-details/-/NCT05999656"),
        ("NCT01216865", "https://crick.ai/trials/NCT01216865"),
        (
            "NCT04689425",
            "https://trial.medpath.com/clinical-trial/c009e86295421136/nct04689425-efficacy-safety-umbilical-cord-blood-gel-diabetic-foot-ulcer",
        ),
    ),
    "q25": (
        ("NCT01219465", HEALTHCORD),
        ("NCT01374854", HEALTHCORD),
        ("NCT03835312", HEALTHCORD),
        ("NCT04441658", "https://crick.ai/trials/NCT04441658"),
        ("NCT02302599", "https://clinicaltrials.gov/ct2/show/NCT02302599"),
    ),
    "q26": (
        (
            "NCT06407297",
            "https://www.medifind.com/conditions/type-1-diabetes/1575/clinical-trial/518754429",
        ),
        ("NCT01219465", HEALTHCORD),
        ("NCT01374854", HEALTHCORD),
        ("NCT03835312", HEALTHCORD),
    ),
    "q27": (("NCT05999656", "https://trials.co/clinical-trials-details/-/NCT05999656"),),
    "q28": (
        ("NCT05999656", "https://trials.co/clinical-trials-details/-/NCT05999656"),
        (
            "NCT04689425",
            "https://trial.medpath.com/clinical-trial/c009e86295421136/nct04689425-efficacy-safety-umbilical-cord-blood-gel-diabetic-foot-ulcer",
        ),
        (
            "NCT01216865",
            "https://www.clinicaltrialexchange.com/clinical-trials/Umbilical-Cord-Mesenchymal-Stem-Cells-Injection-for-Diabetic-Foot/NCT01216865",
        ),
    ),
    "q35": (
        (
            "NCT06969807",
            "https://www.medifind.com/conditions/diabetic-nephropathy/1581/clinical-trial/563902982",
        ),
        ("NCT04216849", "https://clinicaltrials.gov/ct2/show/NCT04216849"),
    ),
    "q39": (
        ("NCT07118475", "https://crick.ai/trials/NCT07118475"),
        ("NCT01219465", HEALTHCORD),
        ("NCT01374854", HEALTHCORD),
        ("NCT03835312", HEALTHCORD),
    ),
    "q41": (
        ("NCT01413035", "https://trials.co/clinical-trials-details/-/NCT01413035"),
        ("NCT04441658", "https://crick.ai/trials/NCT04441658"),
    ),
    "q51": (
        ("NCT04441658", "https://crick.ai/trials/NCT04441658"),
        ("NCT01413035", "https://trials.co/clinical-trials-details/-/NCT01413035"),
        ("NCT01219465", HEALTHCORD),
        ("NCT01374854", HEALTHCORD),
        ("NCT03835312", HEALTHCORD),
    ),
    "q57": (
        ("NCT04441658", "https://crick.ai/trials/NCT04441658"),
        ("NCT01413035", "https://trials.co/clinical-trials-details/-/NCT01413035"),
    ),
    "q67": (
        ("NCT07183761", "https://biotechhunter.com/trials/NCT07183761"),
        (
            "NCT05507697",
            "https://ctv.veeva.com/study/treatment-with-human-umbilical-cord-mesenchymal-stem-cells-for-refractory-diabetic-peripheral-neurop",
        ),
    ),
    "q72": (
        ("NCT04441658", "https://crick.ai/trials/NCT04441658"),
        ("NCT01413035", "https://trials.co/clinical-trials-details/-/NCT01413035"),
        (
            "NCT02302599",
            "https://trial.medpath.com/clinical-trial/faf4b24554572be9/efficacy-safety-umbilical-cord-mesenchymal-stem-cells-type-2-diabetes",
        ),
    ),
}.items():
    for rid, url in hits:
        dup2(rid, q, url, rid)
for q in ("q26", "q39", "q69"):
    dup2(
        "medifind:533996422",
        q,
        "https://www.medifind.com/procedures/islet-cell-transplantation/6666/clinical-trial/533996422",
        "medifind:533996422",
        reg="other",
    )
dup2(
    "ChiCTR2600125807",
    "q75",
    "https://www.chictr.org.cn/hvshowproject.html?id=303285",
    "ChiCTR2600125807",
    reg="ChiCTR",
)
dup2("CTR20201158", "q75", ZAOCAOTANG, "CTR20201158", reg="ChinaDrugTrials")
dup2(
    "1blv:recruit-1893",
    "q75",
    BLV,
    "CTR20201158",
    reg="other",
    note="the recruitment listing screened on 2026-11-25; CTR20201158 is its registry record",
)
dup2("CTR20201158", "q80", ZAOCAOTANG, "CTR20201158", reg="ChinaDrugTrials")
# screened out in the round (screened.jsonl), with the query where a re-run shows the record
for rid, q, url, reason, title, reg in (
    (
        "pub:10.3791/65045",
        "q24",
        "http://www.pubmed.gov/36939252/",
        "[no-registry-id] protocol publication (J Vis Exp 2023); no registration number in the stored abstract or excerpts (probably the Xuzhou trial already screened as a lead without one)",
        "Prospective, Randomized, and Controlled Study of a Human Umbilical Cord Mesenchymal Stem Cell Injection for Treating Diabetic Foot Ulcers (J Vis Exp 2023)",
        "other",
    ),
    (
        "NCT06991829",
        "q39",
        "https://meddatax.com/clinical-trials/NCT06991829",
        "[not-stem-cell] islet cells isolated from resected pancreas and expanded ex vivo as endocrine organoids; no stem-cell or stem-cell-derived product named (T3c diabetes; site not seen on the page)",
        "Clinical Study on the Safety and Efficacy of Immunophenotyped Pancreatic Endocrine Organoid Bank in Treating Patients With T3c Diabetes",
        "ClinicalTrials.gov",
    ),
    (
        "ChiCTR2600122806",
        "q53",
        "https://www.chictr.org.cn/showproj.html?proj=318432",
        "[not-diabetes] refractory wounds in general, not diabetes-specific, in the title and the visible record; the source of the exosomes is not shown in the stored excerpt (applicant in Haikou, Hainan)",
        "外泌体治疗难愈性创面安全性和有效性的单臂干预性临床研究 / Single-Arm Interventional Clinical Study on the Safety and Efficacy of Exosomes in the Treatment of Refractory Wounds",
        "ChiCTR",
    ),
    (
        "NCT07144241",
        "q72",
        "https://trial.medpath.com/clinical-trial/0b13cb926c2f3e94/nct07144241-mesenchymal-stem-cells-exosomes-therapy-type-2-diabetes",
        "[not-china] lead sponsor Indonesia University; no site in China/HK/Macau/Taiwan shown; not a key comparator",
        "Mesenchymal Stromal/Stem Cells-Derived Exosomes (MSC-Exos) Therapy for Type 2 Diabetes Mellitus Patients",
        "ClinicalTrials.gov",
    ),
    (
        "ChiCTR2400086845",
        "q75",
        "https://www.chictr.org.cn/hvshowprojectEN.html?id=256066",
        "[not-diabetes] UC-MSC for refractory wounds in general (PLA General Hospital, Beijing); the stored excerpt (titles, contacts) does not restrict the study to diabetic wounds and its target-disease field is not shown; to recheck: if it enrols only diabetic wounds it qualifies",
        "人脐带间充质干细胞治疗难愈性创面的安全性和有效性研究 / A Study on the Safety and Efficacy of Human Umbilical Cord Mesenchymal Stem Cells in Treating Refractory Wounds",
        "ChiCTR",
    ),
    (
        "NCT06415643",
        None,
        "https://trial.medpath.com/clinical-trial/33c800d3a50c468e/use-islet-organoids-treatment-pancreatic-surgery-diabetes",
        "[not-stem-cell] autologous islet organoids expanded in vitro from resected pancreas (Zhejiang University); no stem-cell product named",
        "The Use of Islet Organoids in the Treatment of Pancreatic Surgery-related Diabetes",
        "ClinicalTrials.gov",
    ),
    (
        "ChiCTR2500110648",
        None,
        "https://www.chictr.org.cn/showproj.html?proj=228596",
        "[not-diabetes] lower-limb oedema, not a diabetic complication as shown",
        "基于干细胞外泌体治疗下肢水肿的安全性和初步有效性研究 / Safety and preliminary efficacy of stem cell-based exosomes in the treatment of lower limb edema",
        "ChiCTR",
    ),
    (
        "ChiCTR2000038275",
        None,
        "http://www.chictr.org.cn/showproj.aspx?proj=56515",
        "[not-diabetes] wounds of burn skin-donor sites (Zhengzhou)",
        "人胎盘间充质干细胞治疗烧伤患者中厚供皮区创面的随机对照临床研究 / Human placental mesenchymal stem cell in the treatment of wounds in partial-thickness skin donor site in burn patients: a randomized controlled trial",
        "ChiCTR",
    ),
    (
        "ChiCTR2500096604",
        None,
        "https://www.chictr.org.cn/hvshowprojectEN.html?id=269726",
        "[not-stem-cell] a nutritional product in diabetes",
        "一项评估“欣速霖”在糖尿病患者中使用的安全性、营养充足性和临床效果的随机、开放、对照临床试验",
        "ChiCTR",
    ),
    (
        "ChiCTR2500112502",
        None,
        "https://www.chictr.org.cn/hvshowprojectEN.html?id=288044",
        "[not-stem-cell] MWN101 injection, a drug, in type 2 diabetes",
        "MWN101 注射液治疗 2 型糖尿病 Ⅱ期临床研究",
        "ChiCTR",
    ),
    (
        "pub:10.12998/wjcc.v11.i21.5083",
        None,
        "http://www.wjgnet.com/2307-8960/tables/v11/i21/5083.htm",
        "[no-registry-id] only the tables page of the article was seen; no registration number or site shown",
        "hUC-MSC vs placebo in T2DM (World J Clin Cases 2023;11(21):5083), tables page",
        "other",
    ),
):
    excl2(rid, q, url, reason, title, reg)


# --- the second top-up round of 2026-11-28 (q85-q115 pages) ----------------------------------------
# Queries worded the way the stored mirrors of China's drug-trial registry read (its field labels,
# trial titles and purposes: yscro.com/cde, zaocaotang.cn, 1blv.com, synapse.patsnap.com), and for
# stem-cell-derived islets, MSC injections and exosome products. Each query is logged as run; for a
# query that returned a registry record not screened before, its registry-record hits are itemised
# (and for the look-ups q91, q101 and q104 the registry mirrors they returned); the other queries'
# hits, registry records already screened, publications and news, are not.
MEDPATH_EXO = (
    "https://trial.medpath.com/clinical-trial/aa65fa7fb658dcbe/skin-drug-diabetic-foot-treatment"
)
census_ids |= {"NCT06480123"}
row(
    "NCT06480123",
    "ClinicalTrials.gov",
    "pages",
    "q100",
    MEDPATH_EXO,
    "included",
    scope="china",
    complication="diabetic foot",
    in_file="census",
    title="Stem Cell Derived Exome for Treatment of Diabetic Foot",
    note="stem-cell-derived exosomes in a skin drug (cell-free, counted as the census counts stem cells' exosomes); no site list shown, China from the lead sponsor Second Affiliated Hospital of Guangzhou Medical University (trial.medpath.com, clinconnect.io)",
    screened=D2,
)
for rid, q, url, of, reg in (
    (
        "CTR20252968",
        "q91",
        "https://yscro.com/index.php/cde/e629d74a65abf090bb69229be7ebce1a.html",
        "CTR20252968",
        "ChinaDrugTrials",
    ),
    (
        "CTR20252968",
        "q91",
        "http://edit.yscro.com/cde/e629d74a65abf090bb69229be7ebce1a.html",
        "CTR20252968",
        "ChinaDrugTrials",
    ),
    (
        "ChiCTR2600122806",
        "q100",
        "https://www.chictr.org.cn/showproj.html?proj=318432",
        "ChiCTR2600122806",
        "ChiCTR",
    ),
    (
        "ChiCTR2600121779",
        "q100",
        "https://www.chictr.org.cn/showproj.html?proj=306096",
        "ChiCTR2600121779",
        "ChiCTR",
    ),
    (
        "ChiCTR2500110648",
        "q100",
        "https://www.chictr.org.cn/showproj.html?proj=228596",
        "ChiCTR2500110648",
        "ChiCTR",
    ),
    ("1blv:recruit-1893", "q100", BLV, "CTR20201158", "other"),
    (
        "CTR20252355",
        "q101",
        "http://edit.yscro.com/cde/0fcac0babd9fef56beef96d4be267d97.html",
        "CTR20252355",
        "ChinaDrugTrials",
    ),
    (
        "CTR20252968",
        "q104",
        "http://edit.yscro.com/cde/e629d74a65abf090bb69229be7ebce1a.html",
        "CTR20252968",
        "ChinaDrugTrials",
    ),
    (
        "CTR20252355",
        "q104",
        "http://edit.yscro.com/cde/0fcac0babd9fef56beef96d4be267d97.html",
        "CTR20252355",
        "ChinaDrugTrials",
    ),
    (
        "NCT06480123",
        "q112",
        "https://clinconnect.io/trials/NCT06480123",
        "NCT06480123",
        "ClinicalTrials.gov",
    ),
    (
        "NCT06231771",
        "q112",
        "https://www.clinicaltrialexchange.com/clinical-trials/Safety-and-Efficacy-of-Stem-Cells-for-Diabetic-Foot-Ulcer/NCT06231771",
        "NCT06231771",
        "ClinicalTrials.gov",
    ),
    (
        "NCT05999656",
        "q112",
        "https://www.centerwatch.com/clinical-trials/listings/NCT05999656/human-cord-blood-mononuclear-cells-in-the-treatment-of-refractory-diabetic-foot?id=727&slug=diabetes-and-hypertension",
        "NCT05999656",
        "ClinicalTrials.gov",
    ),
    (
        "ChiCTR2600125807",
        "q115",
        "https://www.chictr.org.cn/hvshowproject.html?id=303285",
        "ChiCTR2600125807",
        "ChiCTR",
    ),
    ("CTR20201158", "q115", ZAOCAOTANG, "CTR20201158", "ChinaDrugTrials"),
    (
        "ChiCTR1800018194",
        "q115",
        "http://www.chictr.org.cn/showproj.aspx?proj=30707",
        "ChiCTR1800018194",
        "ChiCTR",
    ),
    (
        "ChiCTR2400086845",
        "q115",
        "https://www.chictr.org.cn/hvshowprojectEN.html?id=256066",
        "ChiCTR2400086845",
        "ChiCTR",
    ),
    ("1blv:recruit-1893", "q115", BLV, "CTR20201158", "other"),
    (
        "ChiCTR2000036933",
        "q115",
        "https://www.chictr.org.cn/hvshowprojectEN.html?id=57085",
        "ChiCTR2000036933",
        "ChiCTR",
    ),
):
    dup2(rid, q, url, of, reg=reg)
for rid, q, url, reason, title, reg in (
    (
        "ChiCTR2600117662",
        "q100",
        "https://www.chictr.org.cn/hvshowproject.html?id=293858",
        "[not-diabetes] iPSC-derived exosomes (GD-iExo-001) for scarless wound healing, not diabetes-specific in the titles shown (applicant in Beijing)",
        "诱导多能干细胞外泌体(GD-iExo-001)辅助无瘢痕愈合的探索性临床研究 / Exploratory Clinical Study of iPSC-Derived Exosomes (GD-iExo-001) in Scarless Wound Healing",
        "ChiCTR",
    ),
    (
        "NCT06812637",
        "q112",
        "https://meddatax.com/clinical-trials/NCT06812637",
        "[location-not-seen] Wharton's jelly MSC exosomes for diabetic foot ulcers; no site or sponsor shown in the stored excerpt, whose background names Egypt; no China site seen",
        "Efficacy and Safety of Wharton's Jelly-Derived Mesenchymal Stem Cell Exosomes in the Treatment of Diabetic Foot Ulcers: A Double-blinded Randomized Controlled Clinical Trial",
        "ClinicalTrials.gov",
    ),
    (
        "IRCT20240317061316N1",
        "q112",
        "https://trial.medpath.com/clinical-trial/3e48e4a5babf927a/evaluation-safety-efficacy-exosome-diabetic-foot-ulcer",
        "[not-china] lead sponsor Qazvin University of Medical Sciences (Iran); no site in China/HK/Macau/Taiwan shown; not a key comparator",
        "Investigating the safety and efficacy of stem cell exosomes on diabetic foot ulcers",
        "other",
    ),
    (
        "ChiCTR-TRC-12002509",
        "q115",
        "https://www.chictr.org.cn/hvshowproject.html?id=3581",
        "[not-stem-cell] tissue-engineered skin for diabetic foot (repair period); no stem-cell or stem-cell-derived product named in the stored excerpt",
        "组织工程皮肤治疗糖尿病足(修复期)的安全性和有效性研究 / A study for the safety and effecacy of tissue engineering skin in the treatment diabetic foot (the repair period)",
        "ChiCTR",
    ),
):
    excl2(rid, q, url, reason, title, reg)


# --- e01: ClinicalTrials.gov export sweep (trials/ctgov_export.jsonl) ---------------------------
SWEEP = yaml.safe_load((ROOT / "census" / "export_sweep.yaml").read_text(encoding="utf-8"))
EXPORT_SRC = "ctgov-export"
export = [
    json.loads(line)
    for line in (ROOT / "trials" / "ctgov_export.jsonl").open(encoding="utf-8")
    if line.strip()
]
by_id = {}
for r in rows:
    by_id.setdefault(r["id"], r)
core_census_ids = {
    i["id"]
    for fname in ("core.jsonl", "census.jsonl")
    for line in (ROOT / "trials" / fname).open(encoding="utf-8")
    if line.strip()
    for i in json.loads(line)["registry_ids"]
}


def complication_of(rec):
    cond = next(
        (
            d.value
            for d in classify_record(TrialRecord.model_validate(rec))
            if d.field == "condition"
        ),
        None,
    )
    return (rec.get("curated") or {}).get("condition") or cond


for rec in export:
    rid = rec["registry_ids"][0]["id"]
    china = rec["region"] != "foreign"
    first = by_id.get(rid)
    title = rec.get("title_en")
    if first is not None and first["decision"] != "duplicate":
        if (
            china
            and first["decision"] == "excluded"
            and first["exclusion"] in ("location-not-seen", "not-china")
        ):
            first.update(
                decision="included",
                exclusion=None,
                reason=None,
                scope="china",
                note=(
                    (first.get("note") or "")
                    + f" Excluded earlier ({first['reason']}); a China site or sponsor is shown in the ClinicalTrials.gov export row read in e01 ({rec['source_url']})."
                ).strip(),
            )
        row(
            rid,
            "ClinicalTrials.gov",
            EXPORT_SRC,
            "e01",
            rec["sources"][0]["url"],
            "duplicate",
            duplicate_of=rid,
            title=title,
        )
    elif china or rid in core_census_ids:
        comp = complication_of(rec)
        row(
            rid,
            "ClinicalTrials.gov",
            EXPORT_SRC,
            "e01",
            rec["sources"][0]["url"],
            "included",
            scope="china" if china else "comparator",
            title=title,
            complication=comp.split(":", 1)[1].replace("-", " ")
            if comp and comp.startswith("complication:")
            else None,
            note=None
            if not china
            else "region "
            + rec["region"]
            + " from the export row"
            + (
                " (sponsor only; see the record's notes)"
                if "region taken from the sponsor" in (rec.get("notes") or "")
                else ""
            ),
        )
    else:
        countries = sorted({s["country"] for s in rec["sites"] if s.get("country")}) or [
            "not shown"
        ]
        row(
            rid,
            "ClinicalTrials.gov",
            EXPORT_SRC,
            "e01",
            rec["sources"][0]["url"],
            "excluded",
            "[not-china] sites shown, none in China/HK/Macau/Taiwan ("
            + ", ".join(countries)
            + "); not a key comparator; kept in ctgov_export.jsonl as a foreign record",
            title=title,
        )
    by_id.setdefault(rid, rows[-1])
for x in SWEEP["excluded"]:
    rid = x["id"]
    if rid in by_id and by_id[rid]["decision"] != "duplicate":
        row(
            rid,
            "ClinicalTrials.gov",
            EXPORT_SRC,
            "e01",
            SWEEP["files"][0]["url"],
            "duplicate",
            duplicate_of=rid,
            title=x["title"],
        )
    else:
        row(
            rid,
            "ClinicalTrials.gov",
            EXPORT_SRC,
            "e01",
            SWEEP["files"][0]["url"],
            "excluded",
            f"[{x['exclusion']}] {x['reason']}",
            title=x["title"],
        )
        by_id.setdefault(rid, rows[-1])


# --- reconcile in_file with the bundled trial files -------------------------------------------
def ids_in(fname):
    return {
        i["id"]
        for line in (ROOT / "trials" / fname).open(encoding="utf-8")
        if line.strip()
        for i in json.loads(line)["registry_ids"]
    }


core = [
    json.loads(line)
    for line in (ROOT / "trials" / "core.jsonl").open(encoding="utf-8")
    if line.strip()
]
FILES = {
    "core": ids_in("core.jsonl"),
    "census": ids_in("census.jsonl"),
    "ctgov_export": ids_in("ctgov_export.jsonl"),
}


def where(rid):
    return next((f for f, ids in FILES.items() if rid in ids), None)


for r in rows:
    if r["decision"] == "included":
        was, now = r.get("in_file"), where(r["id"])
        r["in_file"] = now
        if was and now is None:
            r["note"] = (
                (r.get("note") or "")
                + f" Meets the census criteria but is not in a bundled trial file as of {D}."
            ).strip()
# --- the lead's decisions where the foundation set and the census disagreed ------------------------
for d in yaml.safe_load((ROOT / "census" / "decisions.yaml").read_text(encoding="utf-8")):
    for r in (r for r in rows if r["id"] == d["id"] and r["decision"] != "duplicate"):
        reason = d.get("reason")
        r.update(
            decision=d["decision"],
            exclusion=code(reason) if reason else None,
            reason=reason,
            in_file=where(r["id"]) if d["decision"] == "included" else None,
            note=d.get("note") or "decided by the lead; see census/decisions.yaml",
        )
seen = {r["id"] for r in rows}
for c in core:
    cid = c["registry_ids"][0]["id"]
    if cid not in seen:
        region = c.get("region") or ""
        row(
            cid,
            c["registry_ids"][0]["registry"],
            "core.jsonl",
            None,
            c["source_url"],
            "included",
            scope="comparator" if region == "foreign" else "china",
            in_file="core",
            title=c.get("title_en") or c.get("official_title_en"),
            complication="diabetic foot"
            if any("foot" in x.lower() for x in c.get("conditions", []))
            else None,
            note="added to the foundation set from sources outside the shared files; counted here so the census covers it",
        )
# --- leads superseded by a registry record found later ----------------------------------------
# Screened out on 2026-11-25 for want of a registration number; the top-up round of 2026-11-28
# found the trial's record in China's drug-trial registry. The row stays (the log is a record of
# what was done) as a duplicate of the registry record, its first decision kept in its note, so
# the trial is counted once: included under its registry id, not also excluded as a lead.
SUPERSEDED = {
    "1blv:recruit-1893": ("CTR20201158", "q75"),
    "IND:Jiyuan-GLP1-FGF21-ADSC": ("CTR20252355", "q80"),
}
for r in rows:
    if r["id"] in SUPERSEDED and r["decision"] == "excluded":
        new, q = SUPERSEDED[r["id"]]
        assert any(x["id"] == new and x["decision"] == "included" for x in rows), new
        r.update(
            decision="duplicate",
            duplicate_of=new,
            note=(
                f"Excluded on {r['screened']} ({r['exclusion']}: {r['reason']}); superseded on {D2}: "
                f"the trial's registration number {new} was found ({q}), so this lead is logged as a "
                "duplicate of that registry record, which is screened and included."
            ),
            exclusion=None,
            reason=None,
        )
out = ROOT / "census" / "screening.jsonl"
with out.open("w", encoding="utf-8") as fh:
    for r in rows:
        fh.write(json.dumps({k: v for k, v in r.items()}, ensure_ascii=False) + "\n")

# --- protocol.yaml: the export source, query e01 and the yields ---------------------------------
PROTO = ROOT / "census" / "protocol.yaml"
text = PROTO.read_text(encoding="utf-8")
# the comment lines above the first key (a comment further down is written back in its place)
header = "".join(
    line + "\n" for line in text.split("\nversion:")[0].splitlines() if line.startswith("#")
)
proto = yaml.safe_load(text)
old_source = next((s for s in proto["sources"] if s.get("id") == EXPORT_SRC), {})
f0 = SWEEP["files"][0]
e01_rows = [r for r in rows if r.get("query") == "e01"]
china_new = [r for r in e01_rows if r["decision"] == "included" and r.get("scope") == "china"]
flipped = [r for r in rows if r.get("query") != "e01" and "read in e01" in (r.get("note") or "")]
source = {
    "id": EXPORT_SRC,
    "name": "ClinicalTrials.gov CSV export stored in jesnyder/mapClinical (commit "
    + SWEEP["commit"][:8]
    + ")",
    "name_zh": old_source.get("name_zh"),
    "kind": "search",
    "note": SWEEP["note"],
    "files_read": [
        {
            "path": f["path"],
            "url": f["url"],
            "rows": f["rows"],
            "rows_read": f["rows_read"],
            "rows_kept": f["rows_kept"],
            "read": f["read"],
        }
        for f in SWEEP["files"]
    ],
    "files_not_read": SWEEP["files_not_read"],
}
proto["sources"] = [s for s in proto["sources"] if s.get("id") != EXPORT_SRC] + [source]
query = {
    "id": "e01",
    "corpus": "code",
    "date": D,
    "candidates": len(e01_rows),
    "query": f"read_file jesnyder/mapClinical {f0['path']} in full (characters 0-{f0['characters']:,}, {f0['rows']} rows); every row whose conditions or title name diabetes or a diabetic complication screened",
    "note": f"{f0['rows_kept']} rows kept (stem-cell intervention) and converted into trials/ctgov_export.jsonl; {len(SWEEP['excluded'])} diabetes rows rejected as not stem-cell (ranks 906-1389 only); supersedes the partial read c01",
}
proto["queries"] = [q for q in proto["queries"] if q["id"] != "e01"] + [query]
for q in proto["queries"]:
    q["candidates"] = sum(1 for r in rows if r.get("query") == q["id"])
inc_china = sorted(
    {r["id"] for r in rows if r["decision"] == "included" and r.get("scope") == "china"}
)
export_china = sorted(FILES["ctgov_export"] & set(inc_china))
round2 = [r for r in rows if r["screened"] == D2]
round2_new = sorted(r["id"] for r in round2 if r["decision"] == "included")
round2_ctr = [i for i in round2_new if i.startswith("CTR")]
round2_queries = [q for q in proto["queries"] if q["date"] == D2]
round3_queries = [q for q in round2_queries if q["id"].startswith("q") and int(q["id"][1:]) >= 85]
round3_new = sorted(
    r["id"]
    for r in round2
    if r["decision"] == "included" and r["query"] in {q["id"] for q in round3_queries}
)
proto["yield_note"] = (
    "The pages corpus saturated quickly: by q10 most registry hits were trials already in the shared files, and "
    "q17-q20 returned no new registry record. The full read of the ClinicalTrials.gov export (e01, "
    f"{f0['rows']} MSC trials) added {len(china_new)} China trials not seen before and confirmed a China site or sponsor for "
    f"{len(flipped)} trials the earlier search had excluded for want of a location; {len(export_china)} included China trials "
    f"appear in that export. Two top-up rounds on {D2} ({len(round2_queries)} queries, q21-q115 and c09-c17) found the "
    "ClinicalTrials.gov and ChiCTR mirrors in the pages corpus saturated too and added "
    f"{len(round2_new)} China trials: {len(round2_new) - len(round2_ctr)} from ClinicalTrials.gov and {len(round2_ctr)} from "
    "the drug-trial registry of China (CTR ids), read through stored mirrors (yscro.com, zaocaotang.cn, 1blv.com); "
    f"{len(SUPERSEDED)} of these are trials whose leads were screened out earlier for want of a registration number, and "
    "those leads are now logged as duplicates of the registry records. "
    f"The second of these rounds ({len(round3_queries)} queries, q85-q115, worded as those mirrors read) found no further CTR record "
    f"and added {len(round3_new)} ({', '.join(round3_new)}). "
    f"In all, {len(inc_china)} China/HK/Macau/Taiwan trials can be shown from the stored sources with a "
    "registry id and a China site or sponsor. The target of 150 China trials was not reachable: the export covers only "
    "trials indexed under mesenchymal stem/stromal cells on ClinicalTrials.gov up to October 2022, ChiCTR and the "
    "drug-trial registry of China were reachable only through stored pages, and the other exports in the same folder were not read."
)
# our translation of the note above, with the same numbers
proto["yield_note_zh"] = (
    "检索语料“pages”很快饱和：到 q10 时，注册库命中的大多是共享文件中已有的试验，q17–q20 没有再返回新的注册记录。"
    f"完整读取 ClinicalTrials.gov 导出文件（e01，{f0['rows']} 项 MSC 试验）后，新增 {len(china_new)} 项此前未见的中国试验，"
    f"并为此前因缺少地点而排除的 {len(flipped)} 项试验确认了中国的研究中心或申办方；该导出中共有 {len(export_china)} 项已纳入的中国试验。"
    f"{D2[:4]} 年 {int(D2[5:7])} 月 {int(D2[8:])} 日的两轮补充检索（{len(round2_queries)} 次检索，q21–q115 和 c09–c17）表明，"
    "检索语料“pages”中 ClinicalTrials.gov 和 ChiCTR 的镜像同样已经饱和；两轮共新增 "
    f"{len(round2_new)} 项中国试验：{len(round2_new) - len(round2_ctr)} 项来自 ClinicalTrials.gov，{len(round2_ctr)} 项来自"
    "药物临床试验登记与信息公示平台（CTR 登记号），通过已存储的镜像（yscro.com、zaocaotang.cn、1blv.com）读取；"
    f"其中 {len(SUPERSEDED)} 项试验的线索此前因未见注册号而被排除，这些线索现记为其注册记录的重复。"
    f"第二轮（{len(round3_queries)} 次检索，q85–q115，按这些镜像页面的写法措辞）没有找到新的 CTR 记录，新增 {len(round3_new)} 项（{'、'.join(round3_new)}）。"
    f"总计，根据已存储的来源，可以列出 {len(inc_china)} 项带注册号、且在中国大陆、香港、澳门或台湾有研究中心或申办方的试验。"
    "150 项中国试验的目标无法达到：该导出只涵盖截至 2022 年 10 月在 ClinicalTrials.gov 上以间充质干细胞/基质细胞索引的试验，"
    "ChiCTR 和药物临床试验登记与信息公示平台只能通过已存储的网页读取，同一文件夹中的其他导出文件没有读取。"
)
body = yaml.safe_dump(proto, sort_keys=False, allow_unicode=True, width=110)
ZH_COMMENT = "# yield_note in Chinese: our translation of the note above, not a source's words\n"
body = body.replace("\nyield_note_zh:", "\n" + ZH_COMMENT + "yield_note_zh:", 1)
PROTO.write_text(header + body, encoding="utf-8")
print(
    len(rows),
    "screening rows;",
    len(inc_china),
    "included China;",
    len(china_new),
    "new from e01;",
    len(flipped),
    "re-decided",
)
