#!/usr/bin/python3
"""Executes one notebook with nbclient (the engine behind `jupyter nbconvert --execute`) and the project's
tslab kernel, and ALWAYS writes the executed notebook, also when a cell fails (nbconvert writes nothing
then, and its message for a tslab error is empty). Prints one JSON line: {"ok": bool, "cell": n, "error": text},
n being the 1-based number of the failing cell among all cells.

Usage: /usr/bin/python3 execute_notebook.py <in.ipynb> <out.ipynb> [timeout-seconds]
The kernelspec must be findable (JUPYTER_PATH=<project>/jupyter); the kernel starts in the project root.
"""
import json
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main():
    src, dst = sys.argv[1], sys.argv[2]
    timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 3600
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="tslab-rps",
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
    result = {"ok": True, "cell": 0, "error": ""}
    try:
        client.execute()
    except CellExecutionError as err:
        # The failing cell is the last one that got an execution count.
        cell = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")), default=-1)
        stderr = "".join(o.get("text", "") for o in nb.cells[cell].get("outputs", [])
                         if o.get("output_type") == "stream" and o.get("name") == "stderr") if cell >= 0 else ""
        result = {"ok": False, "cell": cell + 1, "error": stderr.strip() or str(err).strip()}
    except Exception as err:  # kernel died, timeout, ...
        result = {"ok": False, "cell": 0, "error": "%s: %s" % (type(err).__name__, err)}
    finally:
        os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
        nbformat.write(nb, dst)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
