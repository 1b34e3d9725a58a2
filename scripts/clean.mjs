// Removes compiled tests/benches so a deleted test never runs from a stale build.
import { rmSync } from 'node:fs'
rmSync(new URL('../build', import.meta.url), { recursive: true, force: true })
