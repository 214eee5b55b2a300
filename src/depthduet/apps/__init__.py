"""Application functions: whole jobs over files (read, run the library, write, report).

The command line (:mod:`depthduet.cli`) parses arguments, calls one function here and prints
its result; everything a job decides about files (formats, units, invalid markers, refusing
to overwrite) lives here, so the same job runs from Python.
"""
