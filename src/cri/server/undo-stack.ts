// What a create made, undone in reverse when a later step fails: nothing half-made stays behind.
export class UndoStack {
  private readonly steps: Array<{ what: string; undo: () => unknown }> = [];

  constructor(private readonly warn: (message: string) => void) {}

  push(what: string, undo: () => unknown): void {
    this.steps.push({ what, undo });
  }

  /** Runs every undo (the last first); a failing one is reported and the rest still run. */
  async run(): Promise<void> {
    for (const { what, undo } of this.steps.splice(0).reverse()) {
      try {
        await undo();
      } catch (err) {
        this.warn(`undoing ${what}: ${(err as Error).message}`);
      }
    }
  }
}
