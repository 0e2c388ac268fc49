"""Wire models of everything that crosses between nodes. Imports nothing of ours."""
