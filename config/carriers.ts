import { z } from 'zod';
import { cidr } from './setting-types';

/** One carrier of the `CARRIERS` setting: an SMPP SMSC or an HTTP carrier. */
export const carrierSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('smpp'),
    name: z.string().regex(/^[a-z0-9-]{1,32}$/),
    priority: z.number().int().default(100),
    /** ISO alpha-2 destinations this carrier serves; empty = all. */
    countries: z.array(z.string().length(2)).default([]),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    systemId: z.string().min(1).max(16),
    password: z.string().max(9),
    /** SMPP over TLS: the bind password, numbers and bodies are never sent in clear. Say it for every real SMSC. */
    tls: z.boolean().optional(),
    /** PEM file of the CA(s) that sign the SMSC's certificate (with `tls`); unset = the system's CAs. */
    tlsCaFile: z.string().min(1).optional(),
    /** The name the SMSC's certificate must carry (with `tls`), when it is not `host`. */
    tlsServerName: z.string().min(1).optional(),
    /** Refuse an SMSC whose certificate does not verify (with `tls`; default true). `false` is for a test SMSC only. */
    tlsRejectUnauthorized: z.boolean().optional(),
    windowSize: z.number().int().min(1).max(1000).default(10),
    /** Submits per second this carrier accepts from one worker. */
    throughputPerSecond: z.number().positive().default(100),
  }),
  z.object({
    kind: z.literal('http'),
    name: z.string().regex(/^[a-z0-9-]{1,32}$/),
    priority: z.number().int().default(100),
    countries: z.array(z.string().length(2)).default([]),
    baseUrl: z.url(),
    token: z.string().min(1),
    /** Shared secret the carrier signs its receipt webhooks with. */
    webhookSecret: z.string().min(16),
    throughputPerSecond: z.number().positive().default(100),
    /**
     * Addresses this carrier's adapter may reach although outbound requests refuse them (loopback,
     * private ranges…; domain/outbound.ts): a carrier inside the operator's own network, or a simulator.
     */
    allowCidrs: z.array(cidr).default([]),
  }),
]);
export type CarrierConfig = z.infer<typeof carrierSchema>;

/** The carriers of the local stack: the bundled SMPP and HTTP simulators that `npm start` runs. */
export const DEFAULT_CARRIERS = JSON.stringify([
  {
    kind: 'smpp',
    name: 'smsc-a',
    priority: 10,
    host: '127.0.0.1',
    port: 2775,
    systemId: 'sms',
    password: 'sms',
  },
  {
    kind: 'http',
    name: 'http-a',
    priority: 20,
    baseUrl: 'http://127.0.0.1:2776',
    token: 'dev-carrier-token',
    webhookSecret: 'dev-carrier-webhook-secret',
    allowCidrs: ['127.0.0.1/32'],
  },
]);
