// Labels in Chinese and English. Elements carry data-i18n="key" (text) or
// data-i18n-placeholder / data-i18n-title; code calls t("key", {name: value}).
const LABELS = {
  app_name: ["flyonce 低空巡查", "flyonce low-altitude patrol"],
  lang_switch: ["EN", "中文"],
  login_title: ["登录", "Log in"],
  username: ["用户名", "Username"],
  password: ["密码", "Password"],
  login: ["登录", "Log in"],
  logout: ["退出", "Log out"],
  login_failed: ["登录失败：{msg}", "Login failed: {msg}"],
  no_page_for_role: ["角色 {role} 没有可用页面", "The role {role} has no pages here"],
  forbidden_page: ["您的角色（{role}）无权查看此页面。", "Your role ({role}) may not see this page."],
  nav_console: ["指挥台", "Console"],
  nav_team: ["我的任务", "My tasks"],
  nav_evaluate: ["考核评估", "Evaluation"],
  nav_sites: ["监管对象", "Sites"],
  nav_patrols: ["巡查需求", "Patrol requests"],
  role_operator: ["值班员", "operator"], role_admin: ["管理员", "admin"],
  role_evaluator: ["考核员", "evaluator"], role_ground_team: ["地面中队", "ground team"],
  role_detector: ["识别程序", "detector"], role_department: ["职能部门", "department"],
  live_connecting: ["正在连接实时告警…", "Connecting to live alerts…"],
  live_ok: ["实时连接正常", "Live"],
  live_lost: ["实时连接中断，{s} 秒后重连…", "Live connection lost — reconnecting in {s} s…"],
  live_back: ["已重新连接", "Reconnected"],
  alerts: ["告警", "Alerts"],
  no_alerts: ["暂无待处理事件", "No open events"],
  map: ["地图", "Map"],
  type_street_stall: ["占道经营", "Street stall"],
  type_mobile_fuel_sale: ["非法流动供油", "Mobile fuel sale"],
  state_detected: ["已发现", "detected"], state_alerted: ["待审核", "alerted"],
  state_confirmed: ["已确认", "confirmed"], state_rejected: ["已驳回", "rejected"],
  state_assigned: ["已派遣", "assigned"], state_on_scene: ["已到场", "on scene"],
  state_resolved: ["已处置", "resolved"], state_evaluated: ["已评估", "evaluated"],
  kind_residential: ["居住区", "residential"], kind_forest: ["林区", "forest"],
  kind_no_fly: ["禁飞区", "no-fly"], kind_no_vending: ["禁止摆摊", "no vending"],
  kind_market: ["允许摆摊市场", "market"], kind_commercial: ["商业街", "commercial"],
  kind_industrial: ["工业园", "industrial"], kind_none: ["区外", "outside zones"],
  confidence: ["置信度", "confidence"],
  zone: ["区域", "Zone"],
  time_left: ["剩余 {t}", "{t} left"],
  overdue: ["超时 {t}", "{t} over"],
  reached_in: ["{t} 到场", "reached in {t}"],
  confirm: ["确认", "Confirm"], reject: ["驳回", "Reject"],
  reject_reason: ["驳回原因", "Reason for rejecting"],
  send: ["提交", "Send"], cancel: ["取消", "Cancel"],
  assign: ["派遣", "Assign"],
  assign_best: ["一键派遣推荐", "Assign recommended"],
  assign_selected: ["派遣所选", "Assign selected"],
  drones: ["无人机", "Drones"], teams: ["地面中队", "Ground teams"],
  eta: ["预计 {t}", "ETA {t}"],
  at_risk: ["可能超时", "at risk"],
  no_drone: ["不派无人机", "no drone"], no_team: ["不派中队", "no team"],
  ranking_straight: ["按直线距离排序", "ranked by straight-line distance"],
  ranking_planner: ["调度规划排序", "ranked by the dispatch planner"],
  open_event: ["详情", "Details"],
  shortcuts: ["快捷键：J/K 选择 · C 确认 · R 驳回 · A 一键派遣 · Enter 详情",
              "Keys: J/K select · C confirm · R reject · A assign recommended · Enter details"],
  battery: ["电量", "battery"], mode: ["模式", "mode"], status: ["状态", "status"], task: ["任务", "task"],
  dock: ["机库", "dock"],
  done_ok: ["已完成：{msg}", "Done: {msg}"],
  failed: ["操作失败：{msg}", "Failed: {msg}"],
  event: ["事件", "Event"],
  timeline: ["时间线", "Timeline"],
  evidence: ["证据", "Evidence"],
  tasks: ["任务", "Tasks"],
  when: ["时间", "When"], who: ["操作人", "Who"], transition: ["状态变化", "Transition"], why: ["原因", "Why"],
  detected_at: ["发现时间", "Detected"], target: ["到场时限", "Target"],
  response_time: ["响应时间", "Response time"], disposition: ["处置结果", "Disposition"],
  back_console: ["返回指挥台", "Back to console"],
  my_tasks: ["我的任务", "My tasks"],
  no_tasks: ["暂无任务", "No tasks"],
  accept: ["接受任务", "Accept"], accepted: ["已接受", "Accepted"],
  check_in: ["到场签到", "Check in on scene"],
  resolve: ["提交处置", "Resolve"],
  note: ["备注", "Note"], photo: ["现场照片", "Photo"],
  distance_dir: ["{d}，方向 {dir}", "{d}, heading {dir}"],
  from_here: ["（相对{src}）", "(from {src})"],
  src_gps: ["我的位置", "my position"], src_team: ["中队位置", "team position"],
  disp_persuaded: ["劝导", "persuaded"], disp_removed: ["清除", "removed"],
  disp_penalised: ["处罚", "penalised"], disp_referred: ["移交", "referred"],
  disp_not_found: ["未发现", "not found"],
  evaluation: ["闭环考核", "Closed-loop evaluation"],
  since: ["起", "From"], until: ["止", "To"], zone_kind: ["区域类型", "Zone kind"],
  all: ["全部", "all"], apply: ["查询", "Apply"], export_csv: ["导出 CSV", "Export CSV"],
  f_events: ["事件数", "Events"], f_precision: ["审核准确率", "Review precision"],
  f_reached: ["已到场", "Reached"], f_within: ["时限内到场", "Within target"],
  f_p50: ["响应时间中位数", "Response p50"], f_p90: ["响应时间 P90", "Response p90"],
  f_resolve: ["处置用时中位数", "Time to resolve p50"],
  f_persuaded: ["远程劝导免派人员（占比·节省工时）", "Persuaded without a team (share · team hours saved)"],
  seen_n: ["发现 {n} 次", "seen {n} times"],
  f_sightings: ["每事件发现次数（合并）", "Sightings per event (merged)"], merged: ["次合并", "merged"],
  c_response: ["响应时间分布（3 / 6 分钟时限）", "Response time vs the 3 / 6 min targets"],
  c_within_kind: ["按区域类型的时限内比例", "Share within target by zone kind"],
  c_type: ["按类型", "By type"], c_zone: ["按区域", "By zone"], c_week: ["按周", "By week"],
  c_disp: ["处置结果", "Dispositions"], c_hot: ["热点分布", "Hot spots"],
  c_resolve: ["处置用时分布", "Time to resolve"],
  count: ["数量", "count"], minutes: ["分钟", "minutes"], share: ["比例", "share"],
  target_3: ["3 分钟", "3 min"], target_6: ["6 分钟", "6 min"],
  loading: ["加载中…", "Loading…"],
  task_assigned: ["待接受", "assigned"], task_accepted: ["已接受", "accepted"],
  task_on_scene: ["已到场", "on scene"], task_done: ["已完成", "done"], task_cancelled: ["已取消", "cancelled"],
  taskkind_drone: ["无人机", "drone"], taskkind_team: ["地面中队", "team"],
  position: ["坐标", "Position"], team_marker: ["地面中队 {name}", "Ground team {name}"],
  task_code: ["任务码：请当事人扫码查看", "Task code: for the person inspected to scan"],
  code_page: ["公示页", "Public page"],
  no_data: ["所选范围内暂无数据", "No data in this period"],
  hot_count: ["{n} 起违规", "{n} violations"], hot_hours: ["按时段分布（{tz}）", "By hour of day ({tz})"],
  hot_patrol: ["建议巡查时段", "Suggested patrol times"],
  offence_first: ["首违 first offence", "首违 first offence"], offence_repeat: ["重复 repeat", "重复 repeat"],
  suggest_warning: ["建议：警告（首违免罚）", "Suggested: a warning"],
  suggest_penalty: ["建议：处罚", "Suggested: a penalty"], suggest_referral: ["建议：移交", "Suggested: referral"],
  prior_events: ["此前在此处的违规", "Earlier violations here"],
};

const KEY = "flyonce.lang";

/** A page's own labels, added to the shared ones (a page keeps the words only it uses). */
export function addLabels(labels) { Object.assign(LABELS, labels); }

export function lang() {
  // Chinese by default: the users are Chinese city staff.
  return localStorage.getItem(KEY) === "en" ? "en" : "zh";
}

export function setLang(value) {
  localStorage.setItem(KEY, value);
  document.documentElement.lang = value === "zh" ? "zh-CN" : "en";
  applyI18n(document);
  window.dispatchEvent(new CustomEvent("langchange"));
}

export function t(key, params = {}) {
  const pair = LABELS[key];
  let text = pair ? pair[lang() === "zh" ? 0 : 1] : key;
  for (const [name, value] of Object.entries(params)) text = text.replace(`{${name}}`, value);
  return text;
}

/** A label for a value from a family (type_, state_, kind_, disp_), falling back to the value. */
export function label(prefix, value) {
  const key = `${prefix}_${value}`;
  return LABELS[key] ? t(key) : String(value ?? "");
}

export function applyI18n(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}
