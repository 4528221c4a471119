// Node.js `gearman` 2.1.0 (npm) for tests/client_matrix.rs and tests/real_clients.rs: one mode per
// run, one line per event the library emitted, in the words every matrix script uses (see
// client_matrix.rs). Like any application of this library, the script matches each event's
// handle to the job it created; an event for another handle is "unknown job" (stderr, exit 1).
// Usage: node matrix.js PORT MODE ARG [plain|exceptions]
//   job FUNC plain|exceptions | bg FUNC | status HANDLE | unique UNIQUE | option - | echo TEXT
//   error FUNC | work FUNC job|uniq (GRAB_JOB or GRAB_JOB_UNIQ; the library has no GRAB_JOB_ALL)
'use strict'
const gearman = require('gearman')

const [port, mode, arg, opt] = process.argv.slice(2)
const timeout = Number(process.env.GEARMAN_TEST_TIMEOUT_MS || 20000)
const g = gearman('127.0.0.1', Number(port), { timeout })

function done (line) {
  console.log(line)
  g.close()
  process.exit(0)
}
function die (why) {
  console.error(why)
  process.exit(1)
}
g.on('timeout', () => die('timeout'))
g.on('error', (e) => die(`error event: ${e}`))

// The library reads the last field of STATUS_RES / STATUS_RES_UNIQUE as one byte ('ssss8'), so a
// one-digit denominator comes back as its character code.
function status (s) {
  return `status known=${s.known} running=${s.running} ` +
    `${s.percent_done_num}/${String.fromCharCode(s.percent_done_den)}`
}

function job (func, exceptions) {
  let handle = null
  const mine = (h, line) => (h === handle ? line : die(`unknown job ${JSON.stringify(h)}`))
  g.on('JOB_CREATED', (h) => { handle = h; console.log('created') })
  g.on('WORK_STATUS', (w) => {
    console.log(mine(w.handle, `status ${w.percent_num}/${w.percent_den}`))
  })
  g.on('WORK_DATA', (w) => console.log(mine(w.handle, `data ${w.payload}`)))
  g.on('WORK_WARNING', (w) => console.log(mine(w.handle, `warning ${w.warning}`)))
  g.on('WORK_COMPLETE', (w) => done(mine(w.handle, `complete ${w.payload}`)))
  g.on('WORK_FAIL', (w) => done(mine(w.handle, 'fail')))
  g.on('WORK_EXCEPTION', (w) => done(mine(w.handle, `exception ${w.exception}`)))
  if (exceptions) {
    g.on('OPTION_RES', () => g.submitJob(func, 'in'))
    g.setOption('exceptions')
  } else {
    g.submitJob(func, 'in')
  }
}

function work (func, grab) {
  const again = () => (grab === 'uniq' ? g.grabUniqueJob() : g.grabJob())
  const answer = (j) => {
    const u = j.unique_id === undefined ? '' : j.unique_id
    g.sendWorkComplete(j.handle, `h=${j.handle} f=${j.func_name} u=${u} d=${j.payload}`)
    g.close()
  }
  g.on('NO_JOB', () => g.preSleep())
  g.on('NOOP', again)
  g.on('JOB_ASSIGN', answer)
  g.on('JOB_ASSIGN_UNIQ', answer)
  g.on('close', () => process.exit(0))
  g.addFunction(func)
  again()
}

g.connect(() => {
  switch (mode) {
    case 'job': return job(arg, opt === 'exceptions')
    case 'bg':
      g.on('JOB_CREATED', (h) => done(`created ${h}`))
      return g.submitJob(arg, 'in', { background: true })
    case 'status':
      g.on('STATUS_RES', (s) => done(status(s)))
      return g.getJobStatus(arg)
    case 'unique':
      g.on('STATUS_RES_UNIQUE', (s) => done(status(s)))
      return g.getJobStatusUnique(arg)
    case 'option':
      g.on('OPTION_RES', (o) => done(`option ${o.option_name}`))
      return g.setOption('exceptions')
    case 'echo':
      g.on('ECHO_RES', (e) => done(`echo ${e}`))
      return g.echo(Buffer.from(arg))
    case 'error':
      g.on('ERROR', (code, text) => done(`error ${code} ${text}`))
      return g.submitJob(arg, 'in')
    case 'work': return work(arg, opt)
    default: die(`unknown mode ${mode}`)
  }
})
