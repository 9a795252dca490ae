#!/usr/bin/env perl
# Lua tables with hostile metatables (issue 10, item 2): a rule file's table, its match table, a
# predicate's override table and the config's settings are Lua values whose metatables can run
# code when kguard reads them. Read outside a protected call, an __index that raises (or loops)
# made Lua panic and abort the process with no message, also during a hot reload of `kguard run`.
# Now each one is an ordinary problem: a load error naming the file (scan and check exit 1, run
# keeps its running rules), or a rule error for an override (the other rules' findings stay).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Test::More;
use KGTest qw(:all);
use KGRun qw(%LIVE slurp wait_until start_kguard finish clean_exit);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();

# A copy of the shipped rules (short path: Lua shortens long chunk names in messages).
sub rules_copy {
    my $dir = tempdir('kgp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    opendir my $dh, "$ROOT/rules.d" or die "rules.d: $!";
    copy("$ROOT/rules.d/$_", "$dir/$_") or die "copy $_: $!" for grep { /\.lua$/ } readdir $dh;
    return $dir;
}

sub put { my ($path, $text) = @_; open my $fh, '>', $path or die "$path: $!"; print {$fh} $text; close $fh }

# A complete rule table's fields (our own words), for rules that must load.
sub fields {
    my ($name) = @_;
    return qq{type = "Discovery:Kubernetes/Hostile$name", severity = "Low",
  title = "Hostile test rule $name", description = "Reads of this rule's tables run code.",
  remediation = "None: a test rule."};
}

# Events: a Tor caller listing secrets, a get of a configmap from inside the cluster, and an
# anonymous get of /version-like resource, each as the API server writes it.
my @EVENTS = (
    audit_event(verb => 'list', resource => 'secrets', namespace => 'prod', ip => $IP{TOR}),
    audit_event(verb => 'get', resource => 'configmaps', namespace => 'kube-system', name => 'coredns',
                ip => '10.0.3.17', query => undef),
    audit_event(verb => 'list', resource => 'pods', namespace => 'default', ip => $IP{TOR2}),
);
my $INPUT = join '', map { event_line($_) . "\n" } @EVENTS;

sub scan_with {
    my (%o) = @_;
    return run_kguard(args => [scan_args(rules => $o{rules}), @{ $o{extra} // [] }, '--publish-interval', '0'],
                      stdin => $INPUT, timeout => 60);
}

sub findings_of { my ($r) = @_; return map { $_->{data} } final_findings($r) }
sub types_of { my ($r) = @_; return join ',', sort map { $_->{type} } findings_of($r) }

my $base = scan_with(rules => "$ROOT/rules.d");
clean_exit($base, 'baseline scan');
my $BASE_TYPES = types_of($base);
ok($BASE_TYPES =~ /TorIPCaller/, "baseline fires the Tor rules ($BASE_TYPES)");

# ---- rule files whose tables run code when read: load errors, never an abort ------------------

my @LOAD = (
    ['index_raises', 'the rule table\'s __index raises',
     q{return setmetatable({}, {__index = function(_, k) error("hostile index " .. k) end})},
     qr/zz_hostile\.lua:1: hostile index type/],
    ['index_loops', 'the rule table\'s __index loops',
     q{return setmetatable({}, {__index = function() while true do end end})},
     qr/zz_hostile\.lua:1: (?:instruction budget|time limit \(ms\))/],
    ['match_raises', 'the match table\'s __index raises',
     "return {\n  " . fields('Match') . ",\n  match = setmetatable({}, {__index = function() error(\"hostile match\") end}),\n}",
     qr/zz_hostile\.lua:5: hostile match/],
    ['apirule_meta', 'apirule\'s table given an __index that raises',
     "local r = (require(\"apirule\"){\n  type = \"Discovery:Kubernetes/TorIPCaller\", tactic = \"discovery\", caller = \"tor\",\n" .
     "  severity = \"Low\", title = \"Hostile copy\", description = \"A copy of a shipped rule.\", remediation = \"None.\",\n})\n" .
     "return setmetatable(r, {__index = function(_, k) error(\"hostile apirule \" .. k) end})",
     qr/zz_hostile\.lua:5: hostile apirule/],
    ['key_tostring', 'an unknown key whose __tostring raises',
     "return {\n  " . fields('Key') . ",\n  [setmetatable({}, {__tostring = function() error(\"hostile key\") end})] = 1,\n}",
     qr/zz_hostile\.lua:5: hostile key/],
);
for my $c (@LOAD) {
    my ($name, $what, $lua, $msg) = @$c;
    my $dir = rules_copy();
    put("$dir/zz_hostile.lua", "$lua\n");
    for my $cmd ('scan', 'check') {
        my $r = $cmd eq 'scan' ? scan_with(rules => $dir)
                               : run_kguard(args => ['check', '--rules', $dir, std_list_args()], timeout => 60);
        ok(!$r->{signal} && !$r->{timed_out}, "$cmd, $what: no crash")
            or diag("signal $r->{signal}\n$r->{stderr}");
        is($r->{exit}, 1, "$cmd, $what: exit 1 (rules did not load)");
        like($r->{stderr}, $msg, "$cmd, $what: the message names the file and line");
        unlike($r->{stderr}, qr/fatal: Lua error/, "$cmd, $what: no Lua panic");
    }
}

# A metatable that merely supplies fields still works as before: the rule loads and fires.
{
    my $dir = rules_copy();
    put("$dir/zz_proxy.lua", "local real = {\n  " . fields('Proxy') .
        ",\n  match = {api = {\"list secrets\"}},\n}\nreturn setmetatable({}, {__index = real})\n");
    my $r = scan_with(rules => $dir);
    clean_exit($r, 'a rule table read through a plain __index table');
    ok((grep { $_->{type} eq 'Discovery:Kubernetes/HostileProxy' } findings_of($r)) == 1,
       'that rule fires on the list of secrets');
}

# ---- predicates whose override tables run code: rule errors, the other rules keep firing ------

my @OVERRIDE = (
    ['override_raises', 'an override table whose __index raises',
     'setmetatable({}, {__index = function() error("hostile override") end})', qr/zz_hostile\.lua:\d+: hostile override/],
    ['override_loops', 'an override table whose __index loops',
     'setmetatable({}, {__index = function() while true do end end})', qr/zz_hostile\.lua:\d+: (?:instruction budget|time limit \(ms\))/],
);
for my $c (@OVERRIDE) {
    my ($name, $what, $ret, $msg) = @$c;
    my $dir = rules_copy();
    put("$dir/zz_hostile.lua", "return {\n  " . fields('Override') .
        ",\n  predicate = function(ev)\n    return $ret\n  end,\n}\n");
    my $r = scan_with(rules => $dir);
    clean_exit($r, "scan, $what");
    is($r->{summary}{rule_errors}, scalar @EVENTS, "$what: one rule error per event")
        or diag($r->{stderr});
    like($r->{stderr}, $msg, "$what: the rule error names the file");
    is(types_of($r), $BASE_TYPES, "$what: every shipped rule's findings are there, none from it");
}
{
    my $dir = rules_copy();
    put("$dir/zz_hostile.lua", "return {\n  " . fields('OverrideProxy') .
        ",\n  match = {api = {\"list secrets\"}},\n  predicate = function(ev)\n" .
        "    return setmetatable({}, {__index = {title = \"Title from a metatable\", severity = 7}})\n  end,\n}\n");
    my $r = scan_with(rules => $dir);
    clean_exit($r, 'scan, an override table read through a plain __index table');
    my @f = grep { $_->{type} eq 'Discovery:Kubernetes/HostileOverrideProxy' } findings_of($r);
    is(scalar @f, 1, 'that rule fires once');
    is($f[0]{title}, 'Title from a metatable', 'with the title its metatable gives');
    is($f[0]{severity}, 7, 'and the severity');
}

# ---- config files whose settings run code ------------------------------------------------------

my @CONFIG = (
    ['config_raises', 'the settings table\'s __index raises',
     q{return setmetatable({}, {__index = function(_, k) error("hostile config " .. k) end})},
     qr/hostile\.cfg\.lua:1: hostile config/],
    ['team_loops', 'a team table\'s __index loops',
     qq{return {\n  teams = {setmetatable({}, {__index = function() while true do end end})},\n}},
     qr/hostile\.cfg\.lua:2: (?:instruction budget|time limit \(ms\))/],
);
for my $c (@CONFIG) {
    my ($name, $what, $lua, $msg) = @$c;
    my $cfg = write_file("$lua\n", "$name/hostile.cfg.lua");
    my $r = scan_with(rules => "$ROOT/rules.d", extra => ['--config', $cfg]);
    ok(!$r->{signal} && !$r->{timed_out}, "config, $what: no crash") or diag($r->{stderr});
    is($r->{exit}, 1, "config, $what: exit 1");
    like($r->{stderr}, $msg, "config, $what: the message names the file and line");
}

# ---- kguard run: a hot reload of hostile rules or config keeps the service and its rules ------

{
    my $dir = rules_copy();
    my $cfg = write_file("return {cluster = \"reload-cluster\"}\n", 'run/kguard.cfg.lua');
    my $k = start_kguard(args => ['run', '--rules', $dir, '--config', $cfg, std_list_args(),
                                  '--publish-interval', '0'], stdin => 'pipe');
    my $n_reload = sub { my @l = slurp($k->{err}) =~ /^kguard: reload .*$/mg; scalar @l };
    my $fed = 0;
    my $probe = sub {
        my ($what) = @_;
        my $e = audit_event(verb => 'list', resource => 'secrets', namespace => 'prod', ip => $IP{TOR});
        print { $k->{in} } event_line($e) . "\n";
        $fed++;
        ok(wait_until(15, sub { slurp($k->{out}) =~ /\Q$e->{auditID}\E/ }),
           "run, $what: the running rules still judge (a finding for the probe)");
    };
    $probe->('at start');
    my @steps = (
        ['a rule table whose __index raises', sub { put("$dir/zz_hostile.lua", "$LOAD[0][2]\n") }, 'failed', qr/zz_hostile\.lua:1: hostile index/],
        ['the hostile rule removed', sub { unlink "$dir/zz_hostile.lua" }, 'ok', undef],
        ['a config whose __index raises', sub { put($cfg, "$CONFIG[0][2]\n") }, 'failed', qr/hostile config/],
        ['the config fixed', sub { put($cfg, "return {cluster = \"reload-cluster\"}\n") }, 'ok', undef],
    );
    for my $s (@steps) {
        my ($what, $do, $want, $msg) = @$s;
        my $before = $n_reload->();
        select(undef, undef, undef, 0.05);
        $do->();
        ok(wait_until(20, sub { $n_reload->() > $before }), "run, $what: a reload");
        my @l = slurp($k->{err}) =~ /^kguard: reload .*$/mg;
        like($l[-1] // '', $want eq 'ok' ? qr/: ok, / : qr/ failed: .*the running rules stay/, "run, $what: reload $want");
        like(slurp($k->{err}), $msg, "run, $what: the problem is named") if $msg;
        $probe->($what);
    }
    my $r = finish($k);
    clean_exit($r, 'run through hostile reloads');
    unlike($r->{stderr}, qr/fatal: Lua error/, 'run: no Lua panic');
    is($r->{summary}{judged}, $fed, 'run: every probe judged');
}

done_testing();
