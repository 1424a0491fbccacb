"""The logic behind each study notebook: plain async functions returning frames and checks."""
