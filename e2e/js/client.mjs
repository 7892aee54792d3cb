// Drives kubo-rpc-client, the JS client of the Kubo RPC API, against the
// proxy whose URL is the first argument, and fails on the first surprise.
import { create } from 'kubo-rpc-client'

const api = create({ url: process.argv[2] + '/api/v0' })
const fail = (msg) => { console.error(msg); process.exit(1) }

const { version } = await api.version()
if (!version) fail('no version')

const text = 'hello from the JS client ' + process.argv[3]
const { cid } = await api.add(text)
let found = false
for await (const p of api.pin.ls({ paths: [cid] })) found = p.type === 'recursive'
if (!found) fail('added content is not listed as a recursive pin')

await api.pin.rm(cid)
for await (const p of api.pin.ls()) if (p.cid.equals(cid)) fail('pin still listed after pin.rm')

// Pin again at once: the unpin may still be running on IPFS.
const added = await api.pin.add(cid)
if (!added.equals(cid)) fail('pin.add returned ' + added)

try {
  for await (const p of api.pin.ls({ paths: ['bafkqaaa'] })) fail('unpinned CID listed: ' + p.cid)
  fail('no error for an unpinned CID')
} catch (e) {
  if (!/is not pinned/.test(e.message)) fail('unexpected error: ' + e.message)
}

const chunks = []
for await (const c of api.cat(cid)) chunks.push(c)
if (Buffer.concat(chunks).toString() !== text) fail('cat returned other bytes')
console.log(cid.toString())
