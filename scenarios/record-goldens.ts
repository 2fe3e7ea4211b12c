// npm run goldens: re-record every golden trace into traces/. Run it when the
// engine changes what it records on purpose, then look at the diff of each
// re-recorded trace before committing it.
import { join } from 'node:path';
import { GOLDENS, recordGolden } from './goldens.js';
import { SCENARIO_DIR } from './index.js';

const dir = join(SCENARIO_DIR, '..', 'traces');
for (const g of GOLDENS) console.log(`${g.role.padEnd(8)} ${recordGolden(g, dir)}`);
