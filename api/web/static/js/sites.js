// Regulated sites (监管对象): the year's figures (visits per grade against caps, share of
// inspections done non-site, visits avoided, C/D grade movement), every site with its grade
// and the rule that made it, and the year's visit plan with each visit's basis and notice.
import { api, esc, guard, initLang, t, toast } from "./common.js";
import { addLabels } from "./i18n.js";

addLabels({
  s_year: ["年度", "Year"],
  s_per_grade: ["分级检查与上限", "Visits per grade against caps"],
  s_sites_title: ["监管对象及等级", "Sites and their grades"], s_plan: ["现场检查计划", "Site visit plan"],
  s_grade: ["等级", "Grade"], s_sites: ["对象数", "Sites"], s_visits: ["现场检查", "Site visits"],
  s_cap: ["上限", "Cap"], s_at_cap: ["达上限", "At cap"], s_exceptions: ["例外", "Exceptions"],
  s_name: ["名称", "Name"], s_kind: ["类别", "Kind"], s_department: ["主管部门", "Department"],
  s_rule: ["评定依据", "Rule"], s_day: ["日期", "Day"], s_site: ["对象", "Site"],
  s_basis: ["依据", "Basis"], s_exception: ["例外事由", "Exception"], s_state: ["状态", "State"],
  s_notice: ["检查通知", "Notice"], s_open_notice: ["打开", "open"], s_no_cap: ["不设上限", "no cap"],
  s_ungraded: ["未评级", "ungraded"],
  st_visits: ["现场检查", "site visits"], st_looks: ["非现场检查", "non-site looks"],
  st_share: ["非现场占比", "share non-site"], st_avoided: ["减少现场检查", "visits avoided"],
  st_cd: ["上年C/D级", "C/D sites last year"], st_up: ["升级", "moved up"],
  st_same: ["持平", "same grade"], st_down: ["降级", "moved down"],
});

const user = guard(["operator", "admin", "evaluator"]);
if (user) start();

async function start() {
  initLang();
  const params = new URLSearchParams(location.search);
  const year = document.getElementById("year");
  year.value = params.get("year") || String(new Date().getFullYear());
  document.getElementById("filters").onsubmit = (ev) => {
    ev.preventDefault();
    history.replaceState(null, "", `?year=${year.value}`);
    load(year.value);
  };
  await load(year.value);
  window.addEventListener("langchange", () => load(year.value));
}

async function load(year) {
  let figures, sites, visits;
  try {
    [figures, sites, visits] = await Promise.all([
      api(`/api/v1/site-figures?year=${year}`), api(`/api/v1/sites?year=${year}`),
      api(`/api/v1/site-visits?year=${year}`)]);
  } catch (err) {
    toast(t("failed", { msg: err.message }), "error");
    return;
  }
  const share = figures.share_non_site == null ? "–" : `${Math.round(figures.share_non_site * 100)}%`;
  const tiles = [
    ["st_visits", figures.site_visits, "tile-visits"], ["st_looks", figures.non_site_looks, "tile-looks"],
    ["st_share", share, "tile-share"], ["st_avoided", figures.visits_avoided, "tile-avoided"],
    ["st_cd", figures.cd_sites_last_year, "tile-cd"], ["st_up", figures.cd_moved_up, "tile-up"],
    ["st_same", figures.cd_same, "tile-same"], ["st_down", figures.cd_moved_down, "tile-down"],
  ];
  document.getElementById("site-tiles").innerHTML = tiles.map(([k, v, id]) =>
    `<div class="tile" id="${id}"><div class="v">${esc(v)}</div><div class="k">${esc(t(k))}</div></div>`).join("");
  document.querySelector("#per-grade tbody").innerHTML = figures.per_grade.map((g) =>
    `<tr data-grade="${g.grade}"><td>${g.grade}</td><td>${g.sites}</td><td class="visits">${g.visits}</td>
     <td>${g.cap_total == null ? esc(t("s_no_cap")) : g.cap_total}</td><td>${g.sites_at_cap}</td>
     <td>${g.exception_visits}</td></tr>`).join("");
  const names = Object.fromEntries(sites.map((s) => [s.id, s.name]));
  document.querySelector("#sites tbody").innerHTML = sites.map((s) =>
    `<tr data-ref="${esc(s.ref)}"><td>${esc(s.ref)}</td><td>${esc(s.name)}</td><td>${esc(s.kind)}</td>
     <td>${esc(s.department)}</td><td class="grade">${esc(s.grade || t("s_ungraded"))}</td>
     <td class="rule">${esc(s.grade_rule || "")}</td></tr>`).join("");
  document.querySelector("#visits tbody").innerHTML = visits.map((v) =>
    `<tr data-id="${v.id}"><td>${esc(v.visit_day)} ${esc(v.start_time)}</td><td>${esc(names[v.site_id] || v.site_id)}</td>
     <td>${esc(v.grade)}</td><td>${esc(v.basis)}</td><td>${esc(v.exception || "")}</td>
     <td class="state">${esc(v.state)}</td>
     <td>${v.notice_url ? `<a class="notice-link" href="${esc(v.notice_url)}" target="_blank" rel="noopener">${esc(t("s_open_notice"))}</a>` : ""}</td></tr>`).join("");
}
