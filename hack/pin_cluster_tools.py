"""Write the wrapper modules under cluster/tools/: each requires one upstream main module at a pinned
release and copies that release's replace block, with every local path replaced by the released module.

``python hack/pin_cluster_tools.py`` then ``go mod tidy`` in each folder of cluster/tools.
``go install mod/cmd/x@v`` refuses main modules with replace directives (k8s.io/kubernetes, etcd's
server, Argo Rollouts all have them), so a module of ours must carry them. The block is read from the
release's own go.mod, never typed: later releases add staging modules.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / "cluster" / "tools"
# folder -> (module, version, the commands built from it, the release a local replace path stands for)
PINS = {
    "kubernetes": ("k8s.io/kubernetes", "v1.34.1",
                   ["k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager",
                    "k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubectl"],
                   "v0.34.1"),
    "etcd": ("go.etcd.io/etcd/server/v3", "v3.6.17", ["go.etcd.io/etcd/server/v3"],
             "v3.6.17"),
    "kwok": ("sigs.k8s.io/kwok", "v0.8.0", ["sigs.k8s.io/kwok/cmd/kwok"], None),
    "argo": ("github.com/argoproj/argo-rollouts", "v1.9.1",
             ["github.com/argoproj/argo-rollouts/cmd/rollouts-controller",
              "github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts"], None),
}


def upstream_gomod(module: str, version: str) -> str:
    """The go.mod of ``module@version`` from the module proxy."""
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"],
                         capture_output=True, text=True, check=True)
    return Path(json.loads(out.stdout)["GoMod"]).read_text()


def replace_lines(gomod: str, release: str | None) -> list[str]:
    """Every replace of ``gomod``; one to a local path becomes the same module at ``release``, except
    the guards that point at a folder that does not exist (etcd's FORBIDDEN_DEPENDENCY)."""
    blocks = re.findall(r"^replace\s*\((.*?)^\)", gomod, re.S | re.M)
    pairs = [line.strip() for block in blocks for line in block.splitlines() if "=>" in line]
    pairs += [m.strip() for m in re.findall(r"^replace\s+([^(\s].*=>.*)$", gomod, re.M)]
    out = []
    for pair in pairs:
        old, new = (s.strip() for s in pair.split("=>"))
        if new.startswith("."):
            if release is None or "FORBIDDEN" in new:
                continue
            new = f"{old} {release}"
        out.append(f"\t{old} => {new}")
    return out


def write(folder: str) -> None:
    """cluster/tools/<folder>/go.mod for one pin."""
    module, version, commands, release = PINS[folder]
    gomod = upstream_gomod(module, version)
    go = re.search(r"^go (\S+)$", gomod, re.M).group(1)
    godebug = re.findall(r"^godebug .*$", gomod, re.M)
    text = [f"module ml-canary/cluster/tools/{folder}", "", f"go {go}", "", *godebug, "",
            f"require {module} {version}", "", "tool (", *[f"\t{c}" for c in commands], ")", "",
            "replace (", *replace_lines(gomod, release), ")", ""]
    (TOOLS / folder).mkdir(parents=True, exist_ok=True)
    (TOOLS / folder / "go.mod").write_text("\n".join(text))
    print(f"{folder}: {module} {version}")


if __name__ == "__main__":
    for name in sys.argv[1:] or PINS:
        write(name)
