// Layer chain ids (image-spec config.md "Layer ChainID"): the identity of a stack of layers.
//   ChainID(L0) = DiffID(L0); ChainID(L0|...|Ln) = sha256(ChainID(L0|...|Ln-1) + " " + DiffID(Ln))
import { sha256Of, type Digest } from './digest.ts';

export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Of(`${out[out.length - 1]} ${d}`));
  return out;
}
