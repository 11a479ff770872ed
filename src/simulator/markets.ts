/**
 * Market groups (VPP resources Leap dispatches meters in): a few per utility, named after the
 * utility's sub-LAPs or zones like Leap's `PGSB_1_PDRP92`. Meters store the 1-based index.
 */
import { Rng, salt, seededUuid } from './random';
import { UTILITY_REFS } from './regions';

export interface MarketGroup {
  index: number;
  id: string;
  name: string;
  utility: number;
}

export class MarketGroups {
  /** Index 0 is "no group". */
  readonly all: (MarketGroup | null)[] = [null];
  private readonly byUtility: number[][] = [];
  private readonly byId = new Map<string, number>();
  private readonly byName = new Map<string, number>();

  constructor(seed: number) {
    const rng = new Rng(seed, salt('market-groups'));
    const purpose = salt('market-group-id');
    for (const [u, ref] of UTILITY_REFS.entries()) {
      const list: number[] = [];
      for (const stem of ref.utility.groupStems) {
        const used = new Set<number>();
        for (let k = 0; k < 2; k++) {
          let n = rng.range(1, 99);
          while (used.has(n)) n = rng.range(1, 99);
          used.add(n);
          const index = this.all.length;
          const group: MarketGroup = { index, id: seededUuid(seed, purpose, index), name: `${stem}${String(n).padStart(2, '0')}`, utility: u };
          this.all.push(group);
          this.byId.set(group.id, index);
          this.byName.set(group.name, index);
          list.push(index);
        }
      }
      this.byUtility.push(list);
    }
  }

  get(index: number): MarketGroup | null {
    return this.all[index] ?? null;
  }

  forUtility(utility: number): readonly number[] {
    return this.byUtility[utility];
  }

  /** A group by uuid or name; -1 when unknown. */
  find(idOrName: string): number {
    return this.byId.get(idOrName.toLowerCase()) ?? this.byName.get(idOrName) ?? -1;
  }
}
