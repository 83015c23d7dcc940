"""MIDAS GEN NX for the course: the tool catalogue, the call → request mapping, the sandbox and the real-API client."""
