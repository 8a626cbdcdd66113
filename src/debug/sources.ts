import { basename } from 'node:path';
import { Source } from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { LoadedModel, ModelFile } from '../scenario/model.js';

/**
 * The Sources the client sees: a model file as itself, or, when patches
 * changed it, its patched text under a sourceReference of its own.
 */
export class Sources {
  private readonly byFile = new Map<string, DebugProtocol.Source>();
  private readonly patched = new Map<number, ModelFile>();
  private readonly patchedRefs = new Map<string, number>();
  private model?: LoadedModel;

  /** A new launch or restart: sources come from this model from now on. */
  useModel(model: LoadedModel): void {
    this.model = model;
    this.byFile.clear();
  }

  /** The Source for a compiled file: the file itself, or the patched text when patches changed it. */
  sourceFor(file: string): DebugProtocol.Source {
    let s = this.byFile.get(file);
    if (!s) {
      s = this.makeSource(file);
      this.byFile.set(file, s);
    }
    return s;
  }

  /** The patched model file a sourceReference stands for. */
  patchedFile(ref: number): ModelFile | undefined {
    return this.patched.get(ref);
  }

  /** The model path a client's Source names: its path, or the file behind its sourceReference. */
  pathOf(source: DebugProtocol.Source): string | undefined {
    return source.path ?? (source.sourceReference ? this.patched.get(source.sourceReference)?.path : undefined);
  }

  private makeSource(file: string): DebugProtocol.Source {
    const mf = this.model?.files.find((f) => f.path === file);
    if (!mf || !mf.patches.length) return new Source(basename(file), file);
    let ref = this.patchedRefs.get(file);
    if (ref === undefined) {
      ref = this.patched.size + 1;
      this.patchedRefs.set(file, ref);
      this.patched.set(ref, mf);
    }
    const s = new Source(`${basename(file)} (patched: ${mf.patches.map((p) => p.split('/').pop()).join(', ')})`, undefined, ref) as DebugProtocol.Source;
    s.origin = `patched by ${mf.patches.join(', ')}`;
    return s;
  }
}
