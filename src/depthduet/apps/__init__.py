"""Application functions: whole jobs over files (read, run the library, write, report).

The command line (:mod:`depthduet.cli`) parses arguments, calls one function here and prints
its result; everything a job decides about files (formats, units, invalid markers, refusing
to overwrite) lives here, so the same job runs from Python.

* :mod:`.upsample`, :mod:`.predict` - depth super-resolution and monocular depth of a file or
  a folder, through the one folder loop of :mod:`.folders`;
* :mod:`.evaluate` - the evaluation runner with the rows of a model, the JSON report;
* :mod:`.export` - an exported model, checked against the eager one before it is kept;
* :mod:`.degrade`, :mod:`.convert`, :mod:`.show`, :mod:`.download` - one file or source each;
* :mod:`.messages` - where a job's messages go (printed by the command line, or collected).
"""
