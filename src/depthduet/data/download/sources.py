"""The datasets ``depthduet download`` knows: their files (URLs, and a SHA-256 and size where
the exact bytes are published), licence notes, the loader that reads the downloaded layout, and
instructions for those behind a registration."""

from __future__ import annotations

from dataclasses import dataclass

from depthduet.errors import UserError

__all__ = ["RemoteFile", "Source", "SOURCES", "get_source"]


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source.

    Attributes:
        url: where to get it.
        path: where it goes, relative to the output folder (may contain sub-folders).
        size: size in bytes, when known.
        sha256: lower-case hex digest, when known.
    """

    url: str
    path: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Source:
    """A dataset (or part of one) that ``depthduet download`` knows.

    Attributes:
        name: command-line name.
        title: one-line description.
        homepage: the dataset's page.
        licence: licence / terms note (read the homepage before use).
        loader: the depthduet class that reads the downloaded layout.
        files: files fetched automatically (empty for registration-only sources).
        instructions: what to do by hand (registration-only sources, archives to unpack).
    """

    name: str
    title: str
    homepage: str
    licence: str
    loader: str
    files: tuple[RemoteFile, ...] = ()
    instructions: str = ""
    registration: bool = False

    @property
    def verification(self) -> str:
        """How the downloaded files are checked, in words."""
        if not self.files:
            return "nothing is downloaded"
        n = len(self.files)
        pinned = sum(f.sha256 is not None for f in self.files)
        sized = sum(f.size is not None for f in self.files)
        if pinned == n:
            return "SHA-256 and size pinned for every file"
        if pinned:
            return f"SHA-256 pinned for {pinned} of {n} files; the others are not verified"
        if sized == n:
            return "size only (the host publishes no checksum)"
        return (
            "not verified: the host publishes no checksum or exact size (only completeness "
            "against Content-Length; the SHA-256 of what was fetched goes to download.yaml)"
        )

    @property
    def total_size(self) -> int | None:
        """Sum of the file sizes, ``None`` when any is unknown."""
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


_MB05 = "https://vision.middlebury.edu/stereo/data/scenes{year}/FullSize/{scene}/"


def _middlebury_0506(year: int, scenes: tuple[str, ...]) -> tuple[RemoteFile, ...]:
    out = []
    for s in scenes:
        base = _MB05.format(year=year, scene=s)
        out.append(RemoteFile(base + "Illum1/Exp0/view1.png", f"{s}/Illum1/Exp0/view1.png"))
        out.append(RemoteFile(base + "disp1.png", f"{s}/disp1.png"))
        out.append(RemoteFile(base + "dmin.txt", f"{s}/dmin.txt"))
    return tuple(out)


_MB14_SCENES = (
    "Adirondack", "Backpack", "Bicycle1", "Cable", "Classroom1", "Couch", "Flowers", "Jadeplant",
    "Mask", "Motorcycle", "Piano", "Pipes", "Playroom", "Playtable", "Recycle", "Shelves",
    "Shopvac", "Sticks", "Storage", "Sword1", "Sword2", "Umbrella", "Vintage",
)  # fmt: skip
#: monodepth2's split files at a fixed commit (the repository's head since January 2022), so
#: that the pinned SHA-256 and sizes below stay valid; they are those of the files' bytes in
#: that commit (git blobs cb8b42f, 178b25e, aceb95f, e4d7159).
_MD2 = (
    "https://raw.githubusercontent.com/nianticlabs/monodepth2/"
    "b676244e5a1ca55564eb5d16ab521a48f823af31/splits/"
)

SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            "nyu_v2_labeled",
            "NYU Depth v2 labelled set: 1449 RGB-D frames (MATLAB v7.3, about 2.8 GB)",
            "https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html",
            "NYU Depth v2 (Silberman et al., ECCV 2012): free for research; cite the paper",
            "depthduet.data.nyu.NYUv2MatDataset",
            (
                RemoteFile(
                    "https://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat",
                    "nyu_depth_v2_labeled.mat",
                ),
                RemoteFile(
                    "https://horatio.cs.nyu.edu/mit/silberman/indoor_seg_sup/splits.mat",
                    "splits.mat",
                ),
            ),
        ),
        Source(
            "middlebury_2005",
            "Middlebury 2005 (6 scenes with GT): full-size left view, GT disparity, dmin",
            "https://vision.middlebury.edu/stereo/data/scenes2005/",
            "Middlebury stereo data (Scharstein & Pal, CVPR 2007): research use; cite it",
            "depthduet.data.middlebury.MiddleburyDataset",
            _middlebury_0506(2005, ("Art", "Books", "Dolls", "Laundry", "Moebius", "Reindeer")),
        ),
        Source(
            "middlebury_2006",
            "Middlebury 2006 (6 of 21 scenes): full-size left view, GT disparity, dmin",
            "https://vision.middlebury.edu/stereo/data/scenes2006/",
            "Middlebury stereo data (Hirschmueller & Scharstein, CVPR 2007): research use; cite it",
            "depthduet.data.middlebury.MiddleburyDataset",
            _middlebury_0506(2006, ("Aloe", "Baby1", "Bowling1", "Cloth1", "Flowerpots", "Midd1")),
        ),
        Source(
            "middlebury_2014",
            "Middlebury 2014: 23 scenes, im0/im1, disp0/disp1 .pfm, calib.txt (zip per scene)",
            "https://vision.middlebury.edu/stereo/data/scenes2014/",
            "Middlebury stereo data (Scharstein et al., GCPR 2014): research use; cite it",
            "depthduet.data.middlebury.MiddleburyDataset",
            tuple(
                RemoteFile(
                    f"https://vision.middlebury.edu/stereo/data/scenes2014/zip/{s}-perfect.zip",
                    f"{s}-perfect.zip",
                )
                for s in _MB14_SCENES
            ),
            instructions="Unzip each <Scene>-perfect.zip in place (one folder per scene).",
        ),
        Source(
            "sintel_depth",
            "MPI Sintel depth + camera training data (.dpt, .cam); frames are in sintel_complete",
            "https://sintel.is.tue.mpg.de/depth",
            "MPI Sintel (Butler et al., ECCV 2012): research use, see the site's terms",
            "depthduet.data.sintel.SintelDataset",
            (
                RemoteFile(
                    "https://files.is.tue.mpg.de/jwulff/sintel/MPI-Sintel-depth-training-20150305.zip",
                    "MPI-Sintel-depth-training-20150305.zip",
                ),
            ),
            instructions="Unzip into the same root as sintel_complete (training/depth, training/camdata_left).",
        ),
        Source(
            "sintel_complete",
            "MPI Sintel complete (clean/final frames, flow) about 5.3 GB",
            "https://sintel.is.tue.mpg.de/downloads",
            "MPI Sintel (Butler et al., ECCV 2012): research use, see the site's terms",
            "depthduet.data.sintel.SintelDataset",
            (
                RemoteFile(
                    "https://files.is.tue.mpg.de/sintel/MPI-Sintel-complete.zip",
                    "MPI-Sintel-complete.zip",
                ),
            ),
            instructions="Unzip into the Sintel root (training/clean, training/final).",
        ),
        Source(
            "kitti_splits",
            "KITTI Eigen / Eigen-Zhou split files (monodepth2 format)",
            "https://github.com/nianticlabs/monodepth2/tree/master/splits",
            "monodepth2 repository licence: non-commercial use only (Niantic)",
            "depthduet.data.splits.read_kitti_split",
            (
                RemoteFile(
                    _MD2 + "eigen/test_files.txt",
                    "eigen/test_files.txt",
                    35547,
                    "e226d4ca16e0e6e9695435014347dcf973588531330536fd8a68d298ef091a6b",
                ),
                RemoteFile(
                    _MD2 + "eigen_zhou/train_files.txt",
                    "eigen_zhou/train_files.txt",
                    1762076,
                    "00173a231642151c4693274e701ddd4cae7916520a757c7a94eae8e1173f7b0c",
                ),
                RemoteFile(
                    _MD2 + "eigen_zhou/val_files.txt",
                    "eigen_zhou/val_files.txt",
                    195800,
                    "64a868b8d2c66c3979a2d74c22ea2e9146850d5b9f5786ed8e5f92201ba1ad04",
                ),
                RemoteFile(
                    _MD2 + "eigen_benchmark/test_files.txt",
                    "eigen_benchmark/test_files.txt",
                    28471,
                    "d56e5e509e6960a01fb93795f85028ac6e4a82ad40e64b6e968988e4db95b9be",
                ),
            ),
        ),
        Source(
            "kitti_raw",
            "KITTI raw drives (synced + rectified) with calibration, about 175 GB",
            "https://www.cvlibs.net/datasets/kitti/raw_data.php",
            "KITTI: CC BY-NC-SA 3.0 (non-commercial); registration required",
            "depthduet.data.kitti.KittiRawDataset",
            registration=True,
            instructions=(
                "Register at https://www.cvlibs.net/datasets/kitti/user_register.php, then download "
                "the [synced+rectified data] and [calibration] zip of each drive (or the site's "
                "raw_data_downloader script) and unzip everything into one folder so that it holds "
                "<date>/calib_cam_to_cam.txt and <date>/<date>_drive_XXXX_sync/."
            ),
        ),
        Source(
            "kitti_depth",
            "KITTI depth completion / prediction: annotated depth maps (data_depth_annotated)",
            "https://www.cvlibs.net/datasets/kitti/eval_depth_all.php",
            "KITTI: CC BY-NC-SA 3.0 (non-commercial); registration required",
            "depthduet.data.kitti.KittiRawDataset (gt='annotated', annotated_root=...)",
            registration=True,
            instructions=(
                "Register at cvlibs.net, download data_depth_annotated.zip and unzip it; pass the "
                "folder holding train/ and val/ as annotated_root."
            ),
        ),
        Source(
            "kitti_odometry",
            "KITTI odometry colour sequences + calibration + poses",
            "https://www.cvlibs.net/datasets/kitti/eval_odometry.php",
            "KITTI: CC BY-NC-SA 3.0 (non-commercial); registration required",
            "depthduet.data.kitti.KittiOdometryDataset",
            registration=True,
            instructions=(
                "Register at cvlibs.net, download data_odometry_color.zip, data_odometry_calib.zip and "
                "data_odometry_poses.zip and unzip them into one folder (dataset/sequences, "
                "dataset/poses)."
            ),
        ),
        Source(
            "cityscapes",
            "Cityscapes leftImg8bit + disparity + camera (+ rightImg8bit, leftImg8bit_sequence)",
            "https://www.cityscapes-dataset.com/downloads/",
            "Cityscapes licence: non-commercial research; registration required",
            "depthduet.data.cityscapes.CityscapesDataset",
            registration=True,
            instructions=(
                "Register at https://www.cityscapes-dataset.com, download leftImg8bit_trainvaltest.zip, "
                "disparity_trainvaltest.zip, camera_trainvaltest.zip (and rightImg8bit_trainvaltest.zip / "
                "leftImg8bit_sequence_trainvaltest.zip for stereo / neighbours) and unzip them into one "
                "folder."
            ),
        ),
        Source(
            "tofmark",
            "ToFMark (Ferstl et al., ICCV 2013): intensity + real ToF + ground truth",
            "https://rvlab.icg.tugraz.at/tofmark/",
            "ToFMark: academic use; cite Ferstl et al. ICCV 2013",
            "depthduet.data.tofmark.ToFMarkDataset",
            registration=True,
            instructions=(
                "Download the benchmark .mat files from the ToFMark page (https://rvlab.icg.tugraz.at/"
                "tofmark/) after accepting its terms, and put them in one folder."
            ),
        ),
    ]
}


def get_source(name: str) -> Source:
    """The :class:`Source` called ``name``; unknown names raise ``UserError`` listing them."""
    try:
        return SOURCES[name]
    except KeyError:
        raise UserError(f"unknown source {name!r}; known: {', '.join(sorted(SOURCES))}") from None
