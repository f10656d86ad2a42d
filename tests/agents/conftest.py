"""Agents tests run single-threaded (the CI machine has 2 shared cores)."""

import torch

torch.set_num_threads(1)
