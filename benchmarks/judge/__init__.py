"""The kernel judge: load rulesets nobody here wrote into throwaway namespaces, probe them for
real, and compare with what ``fwaudit exposure`` says live and offline (benchmarks/kernel_judge.py)."""
