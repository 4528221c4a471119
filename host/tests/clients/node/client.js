// Node.js `gearman` (npm) client for the integration tests; one line per outcome.
// Usage: node client.js PORT
'use strict'
const gearman = require('gearman')

const port = Number(process.argv[2])
const client = gearman('127.0.0.1', port, { timeout: 20000 })
const queue = []
const waiting = []

// Every reply becomes one event in arrival order; `next()` awaits the next one.
function push (ev) {
  const w = waiting.shift()
  if (w) w(ev)
  else queue.push(ev)
}
function next () {
  return queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve))
}
for (const name of ['JOB_CREATED', 'WORK_COMPLETE', 'WORK_FAIL', 'STATUS_RES', 'ECHO_RES', 'ERROR']) {
  client.on(name, (a, b) => push({ name, a, b }))
}
client.on('timeout', () => { console.log('timeout'); process.exit(1) })

async function job (label, func, data, options) {
  client.submitJob(func, data, options)
  const created = await next()
  if (created.name !== 'JOB_CREATED') throw new Error(`${label}: ${created.name}`)
  const done = await next()
  const out = done.name === 'WORK_COMPLETE' ? done.a.payload.toString() : ''
  console.log(`${label}: ${done.name} ${out}`.trim())
}

client.connect(async () => {
  await job('normal', 'rev', 'hello')
  await job('high', 'rev', 'high', { priority: 'high', unique_id: 'u-1' })
  await job('low', 'rev', 'low', { priority: 'low' })
  await job('fail', 'fail', 'x')
  client.submitJob('nobody', 'bg', { background: true })
  const created = await next()
  client.getJobStatus(created.a)
  const st = await next()
  console.log(`background: ${st.name} known=${st.a.known} running=${st.a.running}`)
  client.echo(Buffer.from('ping'))
  const echo = await next()
  console.log(`echo: ${echo.name} ${echo.a.toString()}`)
  client.close()
  process.exit(0)
})
