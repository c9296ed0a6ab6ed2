"""The e2e app: imports a C extension, pure packages and a namespace package from the venv."""

import os
import sys

import nvidia.cublas
import puretool
import torch
from app import greeting
from runfiles import runfiles

r = runfiles.Create()
with open(r.Rlocation("e2e/app/data.txt")) as f:
    data = f.read().strip()

print("prefix-is-venv:", sys.prefix.endswith(".venv"))
print("torch:", torch.answer(), torch.nn.NAME)
print("cublas:", nvidia.cublas.version())
print("puretool:", puretool.greeting())
print("pth:", os.environ.get("PURETOOL_PTH"))
print("data:", data)
print("app:", greeting.TEXT)
