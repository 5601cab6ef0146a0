#!/usr/bin/env node
// The stratum command: src/cli/main.ts (bin/source.js says from where).
import { importSource } from './source.js';

const mod = await importSource('cli/main');
process.exitCode = await mod.main(process.argv);
