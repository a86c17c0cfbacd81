import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { connectAs, http, ROOT, startServer, tempDir } from '../helper.ts'
import { startReceiver, webhookConfig } from '../webhooks/receiver.ts'
import { promtool, requirePromtool } from '../promtool-helper.ts'
import { startRedis } from '../redis-helper.ts'

const PROMETHEUS = join(ROOT, 'deploy/prometheus')
const DASHBOARD = join(ROOT, 'deploy/grafana/dashboards/chat.json')

/** Series Prometheus makes itself. */
const FROM_PROMETHEUS = new Set(['up'])

interface Panel { title: string, datasource?: { uid?: string }, targets?: { expr: string }[] }

function dashboardExpressions (): { title: string, expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] }
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ title: panel.title, expr: target.expr })))
}

/** Metric names in a PromQL expression (functions, labels and keywords are not followed by `{`, `[` or a space in these forms). */
function metricNames (expr: string): string[] {
  return [...expr.matchAll(/\b((?:chat|process|nodejs)_[a-z0-9_]+|up)\b(?!\s*\()/g)].map((match) => match[1]!)
}

test('promtool: the scrape config and alert rules are valid, and the alerts fire when they should', (t) => {
  if (!requirePromtool(t)) return
  for (const args of [['check', 'config', 'prometheus.yml'], ['check', 'rules', 'alerts.yml'], ['test', 'rules', 'alerts.test.yml']]) {
    const result = promtool(args.map((arg, i) => i === 2 ? join(PROMETHEUS, arg) : arg))
    assert.equal(result.status, 0, `promtool ${args.join(' ')}: ${result.output}`)
    assert.match(result.output, /SUCCESS/)
  }
  const rules = readFileSync(join(PROMETHEUS, 'alerts.yml'), 'utf8')
  for (const alert of ['ChatNodeDown', 'ChatSlowConsumersRising', 'ChatStorageErrors', 'ChatRedisErrors', 'ChatMessagesLost', 'ChatWebhookBacklog']) {
    assert.match(rules, new RegExp(`alert: ${alert}\\b`))
  }
  assert.match(rules, /chat_webhook_pending/)
})

test('every dashboard query is valid PromQL on the provisioned data source', (t) => {
  const expressions = dashboardExpressions()
  assert.ok(expressions.length >= 20, `${expressions.length} queries`)
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: (Panel & { type: string })[] }
  const datasource = readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8')
  const uid = /uid: (\S+)/.exec(datasource)?.[1]
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    assert.equal(panel.datasource?.uid, uid, `${panel.title} uses the provisioned data source`)
  }
  if (!requirePromtool(t)) return
  // promtool parses PromQL only in rule files: each query becomes a recording rule, with
  // Grafana's $__rate_interval as the interval it stands for.
  const rules = expressions.map(({ expr }, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr.replaceAll('$__rate_interval', '5m'))}`)
  const file = join(tempDir(t), 'dashboard-rules.yml')
  writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`)
  const result = promtool(['check', 'rules', file])
  assert.equal(result.status, 0, result.output)
  assert.match(result.output, new RegExp(`SUCCESS: ${expressions.length} rules found`))
})

test('the dashboard and the alerts name only metrics the service exports', async (t) => {
  const receiver = await startReceiver(t)
  const server = await startServer(t, webhookConfig([receiver]))
  // Traffic first, so that every family has its series (the fan-out histogram's buckets too).
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'for the scrape' })
  await receiver.waitFor(3)
  let scrape = (await http(server.url, 'GET', '/metrics')).text
  // The Redis engine's own families (gap repairs, seq raises, lost seqs) come from a node on Redis.
  const redis = await startRedis(t)
  if (redis === undefined) return
  const redisNode = await startServer(t, { REDIS_URL: redis.url })
  scrape += (await http(redisNode.url, 'GET', '/metrics')).text
  const exported = new Set([...scrape.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((match) => match[1]!))

  const rules = readFileSync(join(PROMETHEUS, 'alerts.yml'), 'utf8')
  const named = [
    ...dashboardExpressions().flatMap(({ expr }) => metricNames(expr)),
    ...[...rules.matchAll(/expr: (.*)/g)].flatMap((match) => metricNames(match[1]!))
  ]
  assert.ok(named.includes('chat_fanout_duration_seconds_bucket') && named.includes('chat_connections'))
  for (const name of new Set(named)) {
    if (FROM_PROMETHEUS.has(name)) continue
    assert.ok(exported.has(name), `${name} is named by the monitoring but not exported`)
  }
})
