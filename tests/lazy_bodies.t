#!/usr/bin/env perl
# Bodies parsed on first access (issue 15, lever 3): an Event line's requestObject and
# responseObject are kept as checked spans of the line and parsed only when a condition or a
# predicate reads them.  A rule that reads them every way a rule can (ev.request_object,
# ev.response_object, ev.body, ev.pod_spec, ev.workload_kind, ev:get paths) sees exactly what it
# sees when every line is parsed whole (--no-prescan), and a line whose body is malformed is
# counted and reported exactly as before.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

# members in the order kube-apiserver writes them
my @ORDER = qw(kind apiVersion level auditID stage requestURI verb user impersonatedUser sourceIPs
               userAgent objectRef responseStatus requestObject responseObject
               requestReceivedTimestamp stageTimestamp annotations);
my %RANK = map { $ORDER[$_] => $_ } 0 .. $#ORDER;
my $ENC = JSON::PP->new->utf8->canonical->sort_by(sub {
    my ($x, $y) = ($JSON::PP::a, $JSON::PP::b);
    ($RANK{$x} // 99) <=> ($RANK{$y} // 99) or $x cmp $y });

my $rules = tmpdir() . '/rules';
write_file(<<'LUA', 'rules/lazy_probe.lua');
return {
  type = "Execution:Kubernetes/LazyBodyProbe",
  severity = "Low",
  title = "Body probe",
  description = "Reads every view of the request and response bodies.",
  remediation = "None: a test rule.",
  match = { api = { "create pods", "patch deployments", "update configmaps" } },
  predicate = function(ev)
    local function t(v)
      if v == nil then return "nil" end
      if type(v) ~= "userdata" then return v end
      return v:totable()
    end
    return { detection = {
      req = t(ev.request_object), resp = t(ev.response_object), body = t(ev.body),
      spec = t(ev.pod_spec), kind = ev.workload_kind or "nil",
      image = ev:get("requestObject.spec.containers.1.image") or "nil",
      uid = ev:get("responseObject.metadata.uid") or "nil",
      note = ev:get("requestObject.data.note") or "nil",
    } }
  end,
}
LUA
write_file(<<'LUA', 'rules/lazy_has_body.lua');
return {
  type = "Execution:Kubernetes/LazyBodyPresent",
  severity = "Low",
  title = "Body present",
  description = "Fires on any configmap or deployment write that carries a body.",
  remediation = "None: a test rule.",
  match = { api = { "patch deployments", "update configmaps", "create configmaps" }, body = true },
}
LUA

my $pod = { apiVersion => 'v1', kind => 'Pod',
            metadata => { generateName => 'web-7d4b9c-', namespace => 'prod',
                          labels => { app => 'web', 'pod-template-hash' => '7d4b9c' } },
            spec => { containers => [ { name => 'web', image => 'nginx:1.25',
                                        ports => [ { containerPort => 8080, protocol => 'TCP' } ],
                                        resources => { limits => { cpu => '500m', memory => '1.5e3Mi' } } } ],
                      serviceAccountName => 'web', hostNetwork => JSON::PP::false,
                      volumes => [ { name => 'logs', hostPath => { path => '/var/log', type => '' } } ] } };
my $pod_out = { %$pod, metadata => { %{ $pod->{metadata} }, name => 'web-7d4b9c-x2k9p',
                uid => '5b1e7f7c-1f0e-4a53-9d7c-2f1c6f3b8a10', resourceVersion => '48213' },
                status => { phase => 'Pending', qosClass => 'Burstable' } };

sub ev {
    my (%o) = @_;
    my $e = audit_event(ip => $IP{OFFICE}, %o, set => { level => 'RequestResponse', %{ $o{set} // {} } });
    return $ENC->encode($e);
}

my @lines = (
    # a pod created at RequestResponse: both bodies
    ev(verb => 'create', resource => 'pods', set => { requestObject => $pod, responseObject => $pod_out }),
    # the response written before the request (not kube-apiserver's order, still an Event)
    ev(verb => 'create', resource => 'pods', set => { requestObject => $pod, responseObject => $pod_out })
        =~ s/("requestObject":.*?),("responseObject":\{.*\}\}),/$2,$1,/r,
    # a JSON patch (a list of operations) and a patch with the object after it
    ev(verb => 'patch', resource => 'deployments', name => 'web',
       set => { requestObject => [ { op => 'replace', path => '/spec/replicas', value => 3 },
                                   { op => 'add', path => '/spec/template/spec/containers/0/image',
                                     value => 'nginx:1.26' } ] }),
    ev(verb => 'patch', resource => 'deployments', name => 'web',
       set => { requestObject => { spec => { replicas => 4 } },
                responseObject => { kind => 'Deployment', metadata => { name => 'web', uid => 'd-1' },
                                    spec => { replicas => 4, template => { spec => $pod->{spec} } } } }),
    # escapes, unicode, numbers and empty containers inside a body
    ev(verb => 'update', resource => 'configmaps', name => 'app',
       set => { requestObject => { kind => 'ConfigMap', metadata => { name => 'app', annotations => {} },
                                   data => { note => "tab\there \"quoted\" \\ back \x{e9}t\x{e9} \x{1F600}",
                                             list => [], n => '-0.5e-3' } } }),
    # a body that is null, and one that is a string: neither is a body
    ev(verb => 'create', resource => 'configmaps', name => 'empty', set => { requestObject => undef }),
    ev(verb => 'update', resource => 'configmaps', name => 'odd', set => { requestObject => 'text' }),
);
# the same configmap update each time, with a fresh auditID, its body edited
my $bad = sub {
    my ($edit) = @_;
    my $l = ev(verb => 'update', resource => 'configmaps', name => 'bad',
               set => { requestObject => { kind => 'ConfigMap', data => { a => '1' } } });
    return $l =~ s/"data":\{"a":"1"\}/$edit/r;
};
push @lines,
    $bad->('"data":{"a":"1",}'),                # malformed: trailing comma
    $bad->('"data":{"a" "1"}'),                 # malformed: no colon
    $bad->('"data":{"a":"\\x"}'),              # malformed: bad escape
    $bad->('"data":{"a":[1 2]}'),               # malformed: no comma
    $bad->('"data":{"a":tru}'),                 # malformed: a bad literal
    $bad->('"data":{"a":"1"'),                  # malformed: an object left open
    $bad->('"data":{"a":01}'),                  # unusual (cJSON takes it): the full path
    $bad->('"data":' . ('[' x 80) . (']' x 80)),   # deeper than the pre-scan goes: the full path
    $bad->('"data":{"a":"1"}') =~ s/"requestObject":/"request\\u004fbject":/r;   # an escaped key

my $file = write_file(join("\n", @lines) . "\n", 'bodies.jsonl');
my @args = ('scan', '--rules', $rules, '--cluster', 'test-cluster', '--publish-interval', '0');
my $lazy  = run_kguard(args => [ @args, $file ]);
my $eager = run_kguard(args => [ @args, '--no-prescan', $file ]);

for ([ 'lazy', $lazy ], [ 'every line parsed whole', $eager ]) {
    my ($label, $r) = @$_;
    is($r->{exit}, 0, "$label: exit 0") or diag(describe_run($r));
    my $s = $r->{summary} // {};
    is_deeply([ @$s{qw(events judged malformed)} ], [ 10, 10, 6 ],
              "$label: 10 events judged, 6 malformed lines") or diag(describe_run($r));
}
my @msgs = map { [ grep { /^kguard: \S+:\d+: / } split /\n/, $_->{stderr} ] } $lazy, $eager;
is(scalar @{ $msgs[0] }, 6, 'six malformed lines reported');
like(join("\n", @{ $msgs[0] }), qr/bodies\.jsonl:8: bad JSON near byte \d+/, 'with file:line and the offset');
is_deeply($msgs[0], $msgs[1], 'the same messages, offsets included, lazy or not');

# service.detection is a Lua table: its keys come in the order of Lua's hash, which differs
# from run to run, so findings are compared as data, byte for byte everything else
my $data = sub { [ map { my %d = %{ $_->{data} }; delete @d{qw(createdAt updatedAt)}; \%d }
                   grep { $_->{data} } @{ $_[0]{findings} } ] };
my $rest = sub { join "\n", map { $_->{raw} =~ s/"(createdAt|updatedAt)":"[^"]*"/"$1":"-"/gr
                                            =~ s/"detection":\{.*?\},"eventFirstSeen"/"eventFirstSeen"/r }
                             grep { $_->{data} } @{ $_[0]{findings} } };
ok(scalar @{ $data->($lazy) } >= 10, 'findings written');
is_deeply($data->($lazy), $data->($eager), 'findings identical, detections included');
is($rest->($lazy), $rest->($eager), 'findings byte-identical but for detection order and the clock');

my @probe = grep { $_->{data} && $_->{data}{type} =~ /Probe/ } @{ $lazy->{findings} };
my @dets = map { $_->{data}{service}{detection} } @probe;
# 9 events it asks for; the 80-deep one makes a detection deeper than the 16 levels a
# detection may have, so it gives no finding (lazy or not)
is(occurrences($lazy)->{'Execution:Kubernetes/LazyBodyProbe'}, 8, 'the probe rule fired on each event it asks for');
my ($first) = grep { ($_->{uid} // '') eq $pod_out->{metadata}{uid} } @dets;
ok($first, 'responseObject read through ev:get') or diag(explain(\@dets));
is($first->{image}, 'nginx:1.25', 'requestObject read through ev:get');
is_deeply($first->{req}, JSON::PP->new->decode($ENC->encode($pod)), 'ev.request_object: the whole body');
is_deeply($first->{spec}{volumes}[0]{hostPath}{path}, '/var/log', 'ev.pod_spec');
is($first->{kind}, 'pods', 'ev.workload_kind');
my ($cm) = grep { ($_->{note} // '') =~ /^tab/ } @dets;
is($cm && $cm->{note}, "tab\there \"quoted\" \\ back \x{e9}t\x{e9} \x{1F600}", 'escapes and unicode decoded as before');
my ($jp) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{spec}{replicas} // 0) == 3 } @dets;
ok($jp, 'a JSON patch turned into the object it describes');
is_deeply([ sort map { $_->{body} eq 'nil' ? 'nil' : 'body' } grep { !ref $_->{body} } @dets ],
          [ 'nil' ], 'a string requestObject is no body');
my ($odd) = grep { !ref $_->{req} && $_->{req} eq 'text' } @dets;
ok($odd, 'and reads as the string it is');
my %fired = %{ occurrences($lazy) };
is($fired{'Execution:Kubernetes/LazyBodyPresent'}, 6, 'body = true: the patches and the configmap updates, not null or a string')
    or diag(explain(\%fired));

done_testing();
