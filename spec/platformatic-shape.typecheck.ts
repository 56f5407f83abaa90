// Compile-time check (no test runs): a Consumer and a Producer of @platformatic/kafka fit the slices the
// kafka-rx/platformatic adapters take, so users pass theirs without a cast. A type-only import: nothing loads.
import type { Consumer, Producer } from '@platformatic/kafka' with { 'resolution-mode': 'import' }
import type { PlatformaticConsumer, PlatformaticProducer } from '../lib/client/platformatic'
export const c = (x: Consumer): PlatformaticConsumer => x
export const p = (x: Producer): PlatformaticProducer => x
