//! The console's messages in English and Japanese. The language is the
//! `kensa_lang` cookie's (set by the switch link), else the first of
//! `Accept-Language` the console speaks, else English.

use axum::http::{HeaderMap, header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

pub const LANG_COOKIE: &str = "kensa_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// The request's language (see the module documentation).
    pub fn of(headers: &HeaderMap) -> Lang {
        let cookie = crate::kit::cookie(headers, LANG_COOKIE).and_then(Lang::parse);
        if let Some(l) = cookie {
            return l;
        }
        // Ordered by q-value, the first with the highest weight winning
        // ties, as browsers list them.
        let mut best: Option<(f32, Lang)> = None;
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let mut it = part.split(';');
            let Some(lang) = it.next().and_then(Lang::parse) else {
                continue;
            };
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ja,
            Lang::Ja => Lang::En,
        }
    }

    /// The message `key` in this language; the key itself when neither
    /// catalogue has it (a missing message shows, it does not break the
    /// page).
    pub fn t(self, key: &'static str) -> &'static str {
        match CATALOG.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, ja)) => match self {
                Lang::En => en,
                Lang::Ja => ja,
            },
            None => key,
        }
    }
}

/// (key, English, Japanese).
static CATALOG: &[(&str, &str, &str)] = &[
    ("lang.name", "English", "日本語"),
    (
        "ag.title",
        "Agentless scan (SSH)",
        "エージェントレススキャン (SSH)",
    ),
    ("ag.method", "Scan method", "スキャン方式"),
    ("ag.target", "SSH target", "SSH 接続先"),
    (
        "ag.last_success",
        "Last successful scan",
        "最終成功スキャン",
    ),
    ("ag.error", "Last failure", "直近の失敗"),
    (
        "ag.offered",
        "Key offered by the host",
        "ホストが提示した鍵",
    ),
    ("ag.confirm", "Confirm this host key", "このホスト鍵を承認"),
    ("ag.scan_now", "Scan now", "今すぐスキャン"),
    ("ag.set_target", "Save SSH target", "SSH 接続先を保存"),
    ("ag.credentials", "SSH credentials", "SSH 認証情報"),
    (
        "ag.private_key",
        "Private key (no passphrase)",
        "秘密鍵 (パスフレーズなし)",
    ),
    ("ag.create_credential", "Add credential", "認証情報を追加"),
    ("ag.host_keys", "SSH host keys", "SSH ホスト鍵"),
    ("ag.fingerprint", "Fingerprint", "フィンガープリント"),
    ("ag.used_by", "Used by", "使用先"),
    ("ag.status", "Status", "状態"),
    ("ag.host", "Host", "ホスト"),
    ("ag.port", "Port", "ポート"),
    ("ag.user", "User", "ユーザー"),
    ("ag.credential", "Credential", "認証情報"),
    (
        "ag.jump",
        "Bastion (optional, [user@]host[:port])",
        "踏み台（任意、[user@]host[:port]）",
    ),
    ("nav.dashboard", "Dashboard", "ダッシュボード"),
    ("nav.findings", "Findings", "検出結果"),
    ("nav.assets", "Assets", "資産台帳"),
    ("nav.coverage", "Coverage", "カバレッジ"),
    ("nav.rules", "Suppression rules", "抑制ルール"),
    ("nav.schedules", "Schedules", "スケジュール"),
    ("s.title", "Scheduled exports", "定期エクスポート"),
    ("s.made", "Schedule created:", "スケジュールを作成しました:"),
    ("s.name", "Name", "名前"),
    ("s.owner", "Owner", "所有者"),
    ("s.when", "When", "実行時刻"),
    ("s.what", "What", "内容"),
    ("s.delivery", "Delivered to", "配信先"),
    ("s.next", "Next run", "次回実行"),
    ("s.last", "Last run", "前回実行"),
    ("s.disabled", "Disabled", "無効"),
    ("s.delete", "Delete", "削除"),
    ("s.create", "Create schedule", "スケジュールを作成"),
    (
        "s.cron",
        "Cron expression (minute hour day month weekday)",
        "cron 式 (分 時 日 月 曜日)",
    ),
    ("s.timezone", "Time zone (IANA)", "タイムゾーン (IANA)"),
    ("s.source", "Export", "エクスポート対象"),
    ("s.findings", "Findings", "検出結果"),
    ("s.assets", "Asset register", "資産台帳"),
    ("s.format", "Format", "形式"),
    ("s.lang", "Register headers", "台帳の見出し言語"),
    ("s.path", "Export directory", "エクスポートディレクトリ"),
    (
        "s.dir",
        "Subdirectory (path delivery)",
        "サブディレクトリ (パス配信)",
    ),
    ("s.bucket", "S3 bucket", "S3 バケット"),
    ("s.prefix", "S3 key prefix", "S3 キー接頭辞"),
    ("nav.admin", "Administration", "管理"),
    ("nav.exports", "Exports", "エクスポート"),
    ("x.title", "Your exports", "エクスポート一覧"),
    ("x.held", "Kept downloads:", "保管中のダウンロード:"),
    ("x.format", "Format", "形式"),
    (
        "x.queue",
        "Export in the background",
        "バックグラウンドでエクスポート",
    ),
    (
        "x.none",
        "No exports yet.",
        "エクスポートはまだありません。",
    ),
    ("x.destination", "Destination", "出力先"),
    ("x.status", "Status", "状態"),
    ("x.rows", "Rows", "行数"),
    ("x.size", "Size", "サイズ"),
    ("x.created", "Created", "作成日時"),
    ("x.expires", "Expires", "有効期限"),
    ("x.download", "Download", "ダウンロード"),
    ("x.cancel", "Cancel", "キャンセル"),
    ("x.retry", "Retry", "再実行"),
    ("x.delete", "Delete", "削除"),
    ("x.queued", "Queued export", "エクスポートを登録しました:"),
    (
        "x.cancelled",
        "Cancelled export",
        "エクスポートをキャンセルしました:",
    ),
    ("x.deleted", "Deleted export", "エクスポートを削除しました:"),
    ("x.s.queued", "queued", "待機中"),
    ("x.s.running", "running", "実行中"),
    ("x.s.done", "done", "完了"),
    ("x.s.failed", "failed", "失敗"),
    ("x.s.cancelled", "cancelled", "キャンセル済み"),
    ("x.s.expired", "expired", "期限切れ"),
    ("x.d.download", "download", "ダウンロード"),
    ("x.d.path", "file", "ファイル"),
    ("nav.notifications", "Notifications", "通知"),
    ("n.title", "Notifications", "通知"),
    ("n.rules", "Notification rules", "通知ルール"),
    ("n.events", "Events", "イベント"),
    ("n.channel", "Channel", "送信先"),
    ("n.channels", "Channels", "送信先"),
    (
        "n.channels_api",
        "Channels (webhook, Slack, Teams, e-mail, syslog) are added with the API: POST /api/v1/notifications/channels.",
        "送信先（Webhook、Slack、Teams、メール、syslog）は API（POST /api/v1/notifications/channels）で追加します。",
    ),
    ("n.kind", "Kind", "種類"),
    ("n.secret", "Secret", "秘密情報"),
    ("n.set", "set (never shown)", "設定済み（表示しません）"),
    ("n.mode", "Mode", "送信方法"),
    (
        "n.each",
        "Each event (one message per cause)",
        "イベントごと（原因ごとに1通）",
    ),
    ("n.hour", "Hourly digest", "1時間ごとのまとめ"),
    ("n.day", "Daily digest", "1日ごとのまとめ"),
    ("n.create", "Create notification rule", "通知ルールを作成"),
    ("n.test", "Send a test", "テスト送信"),
    ("n.dead", "Failed deliveries", "送信に失敗した通知"),
    ("n.rule", "Rule", "ルール"),
    ("n.count", "Events", "件数"),
    ("n.error", "Last error", "最後のエラー"),
    ("n.failed_at", "Failed", "失敗日時"),
    ("n.retry", "Retry", "再送"),
    ("n.created", "Rule created.", "ルールを作成しました。"),
    ("n.deleted", "Rule deleted.", "ルールを削除しました。"),
    ("n.sent", "Test message sent.", "テスト通知を送信しました。"),
    ("n.retried", "Queued again.", "再送を予約しました。"),
    (
        "n.failed",
        "The test message could not be sent:",
        "テスト通知を送信できませんでした:",
    ),
    ("nav.logout", "Log out", "ログアウト"),
    ("login.title", "Log in", "ログイン"),
    ("login.name", "User name", "ユーザー名"),
    ("login.password", "Password", "パスワード"),
    ("login.submit", "Log in", "ログイン"),
    (
        "login.failed",
        "Wrong user name or password.",
        "ユーザー名またはパスワードが違います。",
    ),
    (
        "login.throttled",
        "Too many failed logins: try again later.",
        "ログインの失敗が多すぎます。しばらくしてから再試行してください。",
    ),
    ("dash.title", "Dashboard", "ダッシュボード"),
    (
        "dash.open_by_severity",
        "Open findings by severity (adjusted)",
        "重大度別の未解決の検出結果（調整後）",
    ),
    (
        "dash.base_by_severity",
        "Open findings by base severity (vendor or NVD CVSS v3 base score)",
        "基本重大度別の未解決の検出結果（ベンダーまたは NVD の CVSS v3 基本値）",
    ),
    ("dash.fixable", "Fixable", "修正あり"),
    ("dash.unfixed", "No fix yet", "修正なし"),
    ("dash.kev", "Known exploited (KEV)", "悪用が確認済み（KEV）"),
    (
        "dash.exposed_critical",
        "Critical on internet-exposed assets",
        "インターネット公開資産の緊急",
    ),
    (
        "dash.reachable_critical",
        "Internet-reachable services with critical findings",
        "インターネットから到達可能で緊急の検出結果があるサービス",
    ),
    (
        "dash.oldest_critical",
        "Oldest open critical findings",
        "最も古い未解決の緊急の検出結果",
    ),
    ("dash.coverage", "Coverage", "カバレッジ"),
    (
        "dash.eol",
        "Assets past end of life",
        "サポート終了済みの資産",
    ),
    (
        "dash.trend",
        "Open findings, last 30 days",
        "未解決の検出結果（過去 30 日）",
    ),
    (
        "dash.trend_note",
        "Reconstructed from first observation and closing times: a finding that closed and reopened counts as open since its first observation.",
        "初回検出日時とクローズ日時から再構成: 再オープンした検出結果は初回検出以降ずっと未解決として数えます。",
    ),
    ("dash.as_of", "Counts as of", "集計時刻"),
    ("dash.overdue", "overdue", "期限超過"),
    ("dash.none", "None.", "ありません。"),
    ("f.title", "Findings", "検出結果"),
    ("f.view.list", "List", "一覧"),
    ("f.view.vulnerability", "By vulnerability", "脆弱性別"),
    ("f.view.asset", "By asset", "資産別"),
    ("f.view.package", "By package", "パッケージ別"),
    ("f.filter", "Filter", "フィルター"),
    (
        "f.filter_help",
        "The filter language: severity=CRITICAL,HIGH package^=openssl score>=7 kev=true first_observed<-7d …",
        "フィルター言語: severity=CRITICAL,HIGH package^=openssl score>=7 kev=true first_observed<-7d …",
    ),
    ("f.severity", "Severity", "重大度"),
    ("f.status", "Status", "状態"),
    ("f.package", "Package", "パッケージ"),
    ("f.any", "(any)", "（すべて）"),
    ("f.apply", "Apply", "適用"),
    ("f.reset", "Reset", "リセット"),
    ("f.export_csv", "Export CSV", "CSV エクスポート"),
    ("f.export_json", "Export JSON", "JSON エクスポート"),
    ("f.next", "Next page →", "次のページ →"),
    ("f.first", "← First page", "← 最初のページ"),
    ("f.prev", "← Previous", "← 前へ"),
    (
        "f.none",
        "No findings match.",
        "該当する検出結果はありません。",
    ),
    ("f.id", "ID", "ID"),
    ("f.vulnerability", "Vulnerability", "脆弱性"),
    ("f.asset", "Asset", "資産"),
    ("f.installed", "Installed", "インストール済み"),
    ("f.fixed", "Fixed in", "修正版"),
    ("f.score", "Score", "スコア"),
    ("f.epss", "EPSS", "EPSS"),
    ("f.first_observed", "First observed", "初回検出"),
    ("f.last_observed", "Last observed", "最終検出"),
    ("f.due", "Due", "期限"),
    ("f.triage", "Triage", "トリアージ"),
    ("f.assignee", "Assignee", "担当者"),
    ("f.total", "Total", "合計"),
    ("f.assets", "Assets", "資産数"),
    ("f.max_score", "Max score", "最大スコア"),
    ("f.bulk", "Change findings", "検出結果を変更"),
    (
        "f.scope_ticked",
        "the ticked findings",
        "チェックした検出結果",
    ),
    (
        "f.scope_filter",
        "everything this filter selects (you confirm how many next)",
        "このフィルターが選ぶすべて（次の画面で件数を確認）",
    ),
    (
        "f.none_ticked",
        "no finding is ticked: tick the findings to change, or choose everything this filter selects",
        "チェックされた検出結果がありません。変更する検出結果にチェックを入れるか、このフィルターが選ぶすべてを選んでください",
    ),
    (
        "f.confirm_title",
        "Confirm the bulk change",
        "一括変更の確認",
    ),
    (
        "f.confirm_count",
        "findings are selected by this filter and will all be changed:",
        "件の検出結果がこのフィルターで選ばれ、すべて変更されます:",
    ),
    ("f.confirm", "Change them all", "すべて変更する"),
    ("f.cancel", "Cancel", "キャンセル"),
    ("f.ecosystem", "Ecosystem", "エコシステム"),
    ("f.path", "Found in", "検出場所"),
    ("f.title_col", "Title", "タイトル"),
    ("f.owner", "Owner", "所有者"),
    ("f.bulk_submit", "Apply to findings", "検出結果に適用"),
    ("f.suppress", "Suppress", "抑制"),
    ("f.suppress_reason", "Suppression reason", "抑制の理由"),
    (
        "f.changed",
        "findings changed.",
        "件の検出結果を変更しました。",
    ),
    (
        "f.saved_view",
        "This page's address reproduces the view: bookmark it to save it.",
        "このページのアドレスでこの表示を再現できます。ブックマークして保存してください。",
    ),
    ("v.saved", "Saved views", "保存したビュー"),
    ("v.save_as", "Save this view as", "このビューを保存"),
    ("v.save", "Save", "保存"),
    ("v.delete", "Delete", "削除"),
    ("fd.title", "Finding", "検出結果"),
    ("fd.description", "Description", "説明"),
    ("fd.references", "References", "参照"),
    ("fd.scores", "Scores", "スコア"),
    ("fd.base_vector", "Base vector", "基本ベクトル"),
    ("fd.adjusted_vector", "Adjusted vector", "調整後ベクトル"),
    ("fd.adjustments", "Adjustments", "調整"),
    ("fd.metric", "Metric", "メトリック"),
    ("fd.value", "Value", "値"),
    ("fd.reason", "Reason", "理由"),
    ("fd.vectors", "Every CVSS vector", "すべての CVSS ベクトル"),
    ("fd.source", "Source", "提供元"),
    ("fd.fix", "Fix", "修正方法"),
    (
        "fd.affected",
        "Affected packages and assets",
        "影響を受けるパッケージと資産",
    ),
    ("fd.triage_form", "Triage", "トリアージ"),
    ("fd.state", "State", "状態"),
    ("fd.justification", "Justification", "根拠"),
    ("fd.comment", "Comment", "コメント"),
    ("fd.due_date", "Due date", "期限"),
    ("fd.risk_until", "Risk accepted until", "リスク受容期限"),
    (
        "fd.everywhere",
        "Apply to this vulnerability in this package on every asset, now and later",
        "すべての資産の同じ脆弱性とパッケージに、現在と今後とも適用",
    ),
    ("fd.save", "Save", "保存"),
    ("fd.audit", "Audit history", "監査履歴"),
    ("fd.history", "Lifecycle", "ライフサイクル"),
    ("fd.at", "When", "日時"),
    ("fd.actor", "Who", "実行者"),
    ("fd.via", "Via", "経路"),
    ("fd.changes", "Changes", "変更内容"),
    ("fd.response", "Response", "対応"),
    ("fd.due_by_hand", "Due date set by hand", "期限を手動で設定"),
    ("fd.suppressed_by", "Suppressed by", "抑制元"),
    ("fd.rule", "Triage rule", "トリアージルール"),
    ("fd.event", "Event", "イベント"),
    ("fd.notes", "Notes", "注記"),
    ("a.title", "Asset", "資産"),
    ("a.management", "Management items", "管理項目"),
    ("a.os", "Operating system", "OS"),
    ("a.eol", "End of life", "サポート終了"),
    ("eol.regular", "regular support until", "通常サポート終了日"),
    ("eol.lts", "LTS/ESM until", "LTS/ESM 終了日"),
    (
        "eol.extended",
        "extended support until",
        "延長サポート終了日",
    ),
    ("eol.none", "none", "なし"),
    (
        "eol.in_lts",
        "past regular support, still in LTS/ESM",
        "通常サポート終了、LTS/ESM 期間中",
    ),
    ("a.exposure", "Internet exposure", "インターネット公開"),
    ("a.ports", "Exposed ports", "公開ポート"),
    ("a.inventory", "Inventory", "インベントリ"),
    ("a.search", "Search packages", "パッケージ検索"),
    ("a.findings", "Open findings", "未解決の検出結果"),
    (
        "a.all_findings",
        "All of this asset's findings",
        "この資産のすべての検出結果",
    ),
    ("a.owner", "Owner", "所有者"),
    ("a.team", "Team", "チーム"),
    ("a.environment", "Environment", "環境"),
    ("a.tags", "Tags (comma-separated)", "タグ（カンマ区切り）"),
    ("a.operation_start", "Operation start", "運用開始日"),
    ("a.support_end", "Support end", "サポート終了日"),
    ("a.middleware", "Middleware", "ミドルウェア"),
    ("a.version", "Version", "バージョン"),
    ("a.kind", "Kind", "種類"),
    ("a.name", "Name", "名前"),
    ("a.ended", "ended", "終了"),
    ("a.supported", "supported", "サポート中"),
    ("a.unknown", "unknown", "不明"),
    (
        "a.no_inventory",
        "No inventory yet.",
        "インベントリはまだありません。",
    ),
    ("cov.exposure", "Internet exposure", "インターネット公開"),
    ("as.title", "Assets", "資産台帳"),
    ("as.assets", "assets", "件の資産"),
    ("as.name", "Name", "名前"),
    ("as.os", "OS and release", "OS とリリース"),
    ("as.os_eol", "OS end of life", "OS サポート終了"),
    (
        "as.support_end",
        "Hardware/contract support end",
        "ハードウェア・保守契約の終了日",
    ),
    ("as.tags", "Tags", "タグ"),
    (
        "as.coverage",
        "Coverage and scan method",
        "カバレッジとスキャン方式",
    ),
    ("as.method", "scan", "スキャン"),
    ("as.last_report", "Last report", "最終レポート"),
    ("as.open", "Open", "未解決"),
    ("as.oldest_overdue", "Oldest overdue", "最も古い期限超過"),
    ("as.ending", "Ending", "終了間近"),
    (
        "as.ending_support",
        "Hardware/contract support: ended or within 90 days",
        "ハードウェア・保守契約: 終了済みまたは 90 日以内",
    ),
    (
        "as.ending_os",
        "OS support: ended or within 90 days",
        "OS サポート: 終了済みまたは 90 日以内",
    ),
    ("as.export_csv", "Export CSV", "CSV エクスポート"),
    ("as.export_xlsx", "Export XLSX", "XLSX エクスポート"),
    ("as.none", "No assets match.", "該当する資産はありません。"),
    (
        "as.filter_help",
        "The filter language: team=web environment=production support_end<=+90d os_eol<today internet_exposure=yes agent=false severity=CRITICAL …",
        "フィルター言語: team=web environment=production support_end<=+90d os_eol<today internet_exposure=yes agent=false severity=CRITICAL …",
    ),
    (
        "as.note",
        "Hardware/contract support end is the date people set for the machine or its maintenance contract; OS end of life is the vendor's date for the operating system (endoflife.date). Dates are highlighted when past or within 90 days. Counts are of open (ACTIVE) findings.",
        "ハードウェア・保守契約の終了日は機器または保守契約について人が設定した日付、OS サポート終了はベンダーが定めた OS のサポート終了日（endoflife.date）です。過ぎた日付と 90 日以内の日付を強調表示します。件数は未解決（ACTIVE）の検出結果です。",
    ),
    ("date.past", "past", "期限切れ"),
    ("date.soon", "within 90 days", "90 日以内"),
    ("os.supported", "supported", "サポート中"),
    ("os.extended", "extended support", "延長サポート中"),
    ("os.ended", "ended", "サポート終了"),
    ("os.unknown", "unknown", "不明"),
    ("exp.yes", "yes", "あり"),
    ("exp.no", "no", "なし"),
    ("exp.unknown", "unknown", "不明"),
    ("scan.agent", "agent", "エージェント"),
    ("scan.scan", "scan", "スキャン"),
    (
        "scan.agentless",
        "agentless (SSH)",
        "エージェントレス（SSH）",
    ),
    ("scan.none", "none", "なし"),
    ("cov.r.successful", "scanned", "スキャン済み"),
    (
        "cov.r.os_end_of_life",
        "OS past end of life (still scanned)",
        "OS サポート終了（スキャンは継続）",
    ),
    (
        "cov.r.unmanaged",
        "unmanaged: nothing reports",
        "未管理: 報告なし",
    ),
    (
        "cov.r.pending",
        "waiting for its first scan",
        "初回スキャン待ち",
    ),
    ("cov.r.stale", "inventory out of date", "インベントリが古い"),
    ("cov.r.unsupported_os", "OS not supported", "未対応の OS"),
    (
        "cov.r.inventory_failed",
        "last report unreadable (previous inventory kept)",
        "最新のレポートを読めず（前回のインベントリを使用）",
    ),
    ("sev.CRITICAL", "Critical", "緊急"),
    ("sev.HIGH", "High", "高"),
    ("sev.MEDIUM", "Medium", "中"),
    ("sev.LOW", "Low", "低"),
    ("sev.INFORMATIONAL", "Informational", "情報"),
    (
        "sev.UNTRIAGED",
        "Untriaged (no score yet)",
        "未評価（スコアなし）",
    ),
    (
        "sev.untriaged_note",
        "Untriaged (UNTRIAGED): no CVSS score or vendor severity yet, as Amazon Inspector names it. A severity, not a triage state.",
        "未評価（UNTRIAGED）: CVSS スコアもベンダーの重大度もまだありません（Amazon Inspector の呼び方）。重大度であり、トリアージの状態ではありません。",
    ),
    ("w.yes", "yes", "はい"),
    ("w.no", "no", "いいえ"),
    ("cov.title", "Coverage", "カバレッジ"),
    ("cov.s.active", "active", "有効"),
    ("cov.s.inactive", "inactive", "無効"),
    ("cov.all", "all assets", "すべての資産"),
    ("cov.status", "Status", "状態"),
    ("cov.reason", "Reason", "理由"),
    ("cov.agent", "Agent", "エージェント"),
    ("cov.inventory_at", "Last inventory", "最終インベントリ"),
    ("cov.source", "Source", "登録元"),
    ("r.title", "Suppression rules", "抑制ルール"),
    ("r.name", "Name", "名前"),
    ("r.filter", "Filter", "フィルター"),
    ("r.reason", "Reason", "理由"),
    ("r.last_error", "Last error", "直近のエラー"),
    (
        "r.skipped",
        "could not run: skipped by evaluations",
        "実行できず、評価でスキップ",
    ),
    ("r.created", "Created", "作成"),
    ("r.create", "Create rule", "ルールを作成"),
    ("r.delete", "Delete", "削除"),
    ("adm.title", "Administration", "管理"),
    ("adm.users", "Users", "ユーザー"),
    ("adm.role", "Role", "ロール"),
    ("adm.disabled", "Disabled", "無効"),
    ("adm.create_user", "Create user", "ユーザーを作成"),
    ("adm.tokens", "API tokens", "API トークン"),
    ("adm.create_token", "Create API token", "API トークンを作成"),
    ("adm.owner", "Owner", "所有者"),
    ("adm.last_used", "Last used", "最終使用"),
    ("adm.revoked", "Revoked", "失効日時"),
    ("adm.revoke", "Revoke", "失効させる"),
    (
        "adm.token_once",
        "Copy it now: it is shown only once.",
        "今コピーしてください。一度しか表示されません。",
    ),
    ("adm.enroll", "Agent enrollment", "エージェント登録"),
    (
        "adm.enroll_help",
        "An enrollment token enrolls hosts: one host (the default), or every VM of an image or launch template (more uses, a longer life). The management items given here are set on every asset it enrolls. The token is shown once, with the commands that install the agent from this server and enroll it.",
        "登録トークンでホストを登録します。1 台（既定）、またはイメージや起動テンプレートのすべての VM（使用回数を増やし、有効期間を延ばす）。ここで指定した管理項目は、登録されるすべての資産に設定されます。トークンは一度だけ、このサーバーからエージェントをインストールして登録するコマンドとともに表示されます。",
    ),
    (
        "adm.enroll_submit",
        "New enrollment token",
        "新しい登録トークン",
    ),
    (
        "adm.ca_sha256",
        "CA certificate SHA-256",
        "CA 証明書の SHA-256",
    ),
    ("adm.ttl_hours", "Valid for (hours)", "有効期間（時間）"),
    ("adm.max_uses", "Maximum uses", "最大使用回数"),
    ("adm.enroll_tokens", "Enrollment tokens", "登録トークン"),
    ("adm.expires", "Expires", "有効期限"),
    ("adm.uses", "Uses", "使用回数"),
    ("adm.defaults", "Defaults", "既定値"),
    ("adm.state", "State", "状態"),
    ("adm.agents", "Agents", "エージェント"),
    ("adm.version", "Version", "バージョン"),
    ("adm.enrolled", "Enrolled", "登録日時"),
    ("adm.last_report", "Last report", "最終報告"),
    ("adm.enroll_token", "Enrollment token", "登録トークン"),
    (
        "adm.oneliner_ca",
        "Install, enroll and start on a host that has this server's ca.pem (run as root):",
        "このサーバーの ca.pem があるホストでインストール・登録・起動（root で実行）:",
    ),
    (
        "adm.oneliner_pinned",
        "On a host without ca.pem: the CA is checked against its SHA-256 fingerprint before anything else is sent (run as root):",
        "ca.pem がないホスト: 何かを送信する前に CA を SHA-256 フィンガープリントで確認します（root で実行）:",
    ),
    (
        "adm.enroll_manual",
        "Where the agent is installed already:",
        "エージェントがインストール済みの場合:",
    ),
    ("adm.ca", "Download ca.pem", "ca.pem をダウンロード"),
    ("err.title", "Error", "エラー"),
    (
        "err.forbidden",
        "Not allowed for your role.",
        "このロールでは許可されていません。",
    ),
    ("role.viewer", "viewer", "閲覧者"),
    ("role.analyst", "analyst", "アナリスト"),
    ("role.auditor", "auditor", "監査人"),
    ("role.admin", "admin", "管理者"),
    // Reviews (issue 17).
    ("nav.reviews", "Reviews", "レビュー"),
    ("rv.yes", "yes", "はい"),
    ("rv.no", "no", "いいえ"),
    ("rv.state.signed", "signed off", "承認済み"),
    ("rv.state.answered", "answered", "回答済み"),
    ("rv.state.sent_back", "sent back", "差し戻し"),
    ("rv.state.removed", "removed", "削除済み"),
    ("rv.state.pending", "not answered", "未回答"),
    ("rv.all", "all confirmed", "すべて確認済み"),
    ("rv.not_confirmed", "not confirmed", "未確認"),
    ("rv.plan.replace", "replace", "リプレース"),
    ("rv.plan.upgrade", "upgrade", "アップグレード"),
    ("rv.plan.accept", "accept until", "期限付き受容"),
    ("rv.col.team", "Team", "チーム"),
    ("rv.col.name", "Asset", "資産"),
    ("rv.col.tags", "Tags", "タグ"),
    ("rv.col.state", "Review state", "レビュー状態"),
    ("rv.col.owner", "Owner", "担当者"),
    ("rv.col.environment", "Environment", "環境"),
    ("rv.col.source", "Known from", "登録元"),
    ("rv.col.os", "OS", "OS"),
    ("rv.col.os_eol", "OS end of life", "OS サポート終了日"),
    (
        "rv.col.os_eol_past",
        "OS end of life passed",
        "OSサポート終了済み",
    ),
    (
        "rv.col.support_end",
        "Hardware/contract support end",
        "ハードウェア・保守契約の終了日",
    ),
    (
        "rv.col.support_end_past",
        "Support end passed",
        "サポート終了済み",
    ),
    ("rv.col.operation_start", "Operation start", "運用開始日"),
    ("rv.col.middleware", "Middleware", "ミドルウェア"),
    ("rv.col.exposure", "Internet exposure", "インターネット公開"),
    ("rv.col.ports", "Exposed ports", "公開ポート"),
    ("rv.col.critical", "Open critical", "未対応(緊急)"),
    ("rv.col.high", "Open high", "未対応(高)"),
    ("rv.col.open", "Open findings", "未対応の検出"),
    ("rv.col.overdue", "Overdue", "期限超過"),
    (
        "rv.col.opened",
        "Findings opened since previous",
        "前回以降の新規検出",
    ),
    (
        "rv.col.closed",
        "Findings closed since previous",
        "前回以降の解決",
    ),
    ("rv.col.confirmed", "Management items", "管理項目"),
    ("rv.col.plan", "End-of-life plan", "サポート終了への対応"),
    ("rv.col.exposure_ok", "Exposure confirmed", "公開状況確認"),
    (
        "rv.col.findings_ok",
        "Criticals and overdue acknowledged",
        "緊急・期限超過の確認",
    ),
    (
        "rv.col.acceptances_ok",
        "Risk acceptances valid",
        "リスク受容の有効性",
    ),
    (
        "rv.col.changed",
        "Management items changed during review",
        "レビュー中の管理項目変更",
    ),
    ("rv.col.answered_by", "Answered by", "回答者"),
    ("rv.col.answered_at", "Answered at", "回答日時"),
    ("rv.col.signed_by", "Signed by", "承認者"),
    ("rv.col.signed_at", "Signed at", "承認日時"),
    ("rv.col.comment", "Comments", "コメント"),
    ("rv.sheet", "Review", "レビュー"),
    (
        "rv.past",
        "Past on the day the review closed",
        "レビュー完了日時点で期限切れ",
    ),
    ("rv.report", "Review report", "レビュー報告書"),
    ("rv.scope", "Scope", "対象"),
    ("rv.scope.all", "all assets", "全資産"),
    ("rv.opened", "opened", "開始"),
    ("rv.closed", "closed", "完了"),
    ("rv.as_of", "as of", "基準日"),
    ("rv.digest", "SHA-256 of this report", "報告書のSHA-256"),
    ("rv.summary", "Summary", "概要"),
    ("rv.sum.assets", "Assets reviewed", "レビュー対象資産"),
    ("rv.sum.signed", "Signed off", "承認済み"),
    ("rv.sum.removed", "Removed", "レビュー中に削除"),
    (
        "rv.sum.support_past",
        "Support end passed",
        "サポート終了済み",
    ),
    (
        "rv.sum.eol_past",
        "OS end of life passed",
        "OSサポート終了済み",
    ),
    ("rv.sum.exposed", "Internet-exposed", "インターネット公開"),
    ("rv.sum.changed", "Items changed", "管理項目の変更"),
    ("rv.open_findings", "Open findings", "未対応の検出"),
    (
        "rv.changes",
        "Changes since the previous review",
        "前回レビューからの変化",
    ),
    (
        "rv.no_previous",
        "No previous closed review of this scope.",
        "同じ対象の完了済みレビューはありません。",
    ),
    ("rv.since", "Since", "比較対象:"),
    ("rv.ch.new", "New assets", "新規資産"),
    ("rv.ch.removed", "Removed assets", "削除された資産"),
    ("rv.ch.opened", "Findings opened", "新規検出"),
    ("rv.ch.closed", "Findings closed", "解決した検出"),
    (
        "rv.ch.dates",
        "Support and end-of-life dates passed",
        "期限を迎えたサポート・EOL",
    ),
    ("rv.ch.exposure", "Exposure changes", "公開状況の変化"),
    ("rv.no_team", "(no team)", "(チームなし)"),
    ("rv.title", "Reviews", "レビュー"),
    ("rv.name", "Name", "名称"),
    ("rv.state", "State", "状態"),
    ("rv.progress", "Progress", "進捗"),
    ("rv.open.title", "Open a review", "レビューを開始"),
    ("rv.open.button", "Open review", "レビュー開始"),
    (
        "rv.owner_sign",
        "Owners may sign their own assets",
        "担当者による自資産の承認",
    ),
    (
        "rv.owner_sign.auditor",
        "only if auditor",
        "監査人の場合のみ",
    ),
    ("rv.owner_sign.never", "never", "不可"),
    ("rv.owner_sign.any", "always", "可"),
    ("rv.answer", "Answer", "回答する"),
    ("rv.sign", "Sign off", "承認する"),
    ("rv.send_back", "Send back", "差し戻す"),
    ("rv.close", "Close review", "レビューを完了"),
    ("rv.view_report", "Report", "報告書"),
    ("rv.events", "History", "履歴"),
    ("rv.state.open", "open", "実施中"),
    ("rv.state.closed", "closed", "完了"),
    (
        "rv.q.management",
        "Management items confirmed",
        "管理項目を確認した",
    ),
    (
        "rv.q.exposure",
        "Internet exposure confirmed",
        "インターネット公開状況を確認した",
    ),
    (
        "rv.q.findings",
        "Open criticals and overdue findings acknowledged",
        "未対応の緊急・期限超過の検出を確認した",
    ),
    (
        "rv.q.acceptances",
        "Risk acceptances still valid",
        "リスク受容は引き続き有効",
    ),
    ("rv.q.plan", "End-of-life plan", "サポート終了への対応"),
    ("rv.q.until", "Until / planned date", "期限・予定日"),
    ("rv.q.comment", "Comment", "コメント"),
    ("rv.plan.none", "none", "なし"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_comes_from_the_cookie_then_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "fr-FR, ja;q=0.8, en;q=0.5".parse().expect("v"),
        );
        assert_eq!(Lang::of(&h), Lang::Ja);
        h.insert(header::ACCEPT_LANGUAGE, "ja-JP".parse().expect("v"));
        assert_eq!(Lang::of(&h), Lang::Ja);
        h.insert(header::COOKIE, "a=b; kensa_lang=en".parse().expect("v"));
        assert_eq!(Lang::of(&h), Lang::En);
    }

    #[test]
    fn every_message_has_both_languages() {
        for (k, en, ja) in CATALOG {
            assert!(!en.is_empty() && !ja.is_empty(), "{k}");
            assert_eq!(
                CATALOG.iter().filter(|(o, _, _)| o == k).count(),
                1,
                "{k} twice"
            );
        }
        assert_eq!(Lang::Ja.t("nav.findings"), "検出結果");
        assert_eq!(Lang::En.t("nav.findings"), "Findings");
    }
}
