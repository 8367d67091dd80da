"""Progress bars in management commands."""


class CommandStream:
    """tqdm writes carriage returns without newlines: pass them through a command's OutputWrapper as they are."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()
