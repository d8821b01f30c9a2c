"""Everyday English words, for :mod:`pipeline.anonymise` (generated: do not edit).

The 2993 lower-case words whose log probability in spacy-lookups-data's
``en_lexeme_prob`` table is above -11 and that are in its lemma tables or
spaCy's stop words. Regenerate with
``python scripts/common_words.py``.
"""

EVERYDAY_WORDS = frozenset("""
    Americans Christians Jews Muslims a abilities ability able abortion about above absolute
    absolutely abuse accent accept acceptable accepted access accident accidentally according
    account accounts accurate achieve across act acting action actions active actively activity
    acts actual actually ad add added adding addition additional address adds admit adorable ads
    adult adults advance advanced advantage advice affect affected afford afraid after
    afterwards again against age ages aggressive ago agree agreed ahead ai aid aim air al album
    alcohol alive all allow allowed allowing allows almost alone along already alright also
    alternative although always am amazing american ammo among amount amounts an analysis and
    anger angle angry animal animals anime annoying another answer answered answers anti anxiety
    any anymore anyone anything anyway anyways anywhere apart apartment apologize apparently
    appeal appear appearance appears apple application applied applies apply appreciate
    appreciated approach appropriate approved apps are area areas argue arguing argument
    arguments arm armor arms army around art article articles artist artists as aside ask asked
    asking asks asleep aspect aspects ass assault asshole associated assume assumed assuming
    assumption at ate atheist atheists attached attack attacking attacks attempt attempting
    attention attitude attracted attractive audience audio author authority auto automatically
    available average avoid aware away awesome awful awhile awkward b babies baby back
    background backup backwards bacon bad badly bag bags balance balanced ball balls ban band
    bands bank banks banned bar barely bars base baseball based basic basically basis bathroom
    battery battle be beach bear beard beat beating beautiful beauty became because become
    becomes becoming bed been beer before began begin beginning behavior behind being belief
    beliefs believe believed believes believing below belt bench benefit benefits besides best
    bet beta better between beyond bias biased bible big bigger biggest bike bill billion bills
    birth birthday bit bitch bite bits black blah blame blind block blocked blocks blog blood
    blow blown blue board boat bodies body bomb bonus boobs book books boost boot boots bored
    boring born boss bot both bother bothered bottle bottles bottom bought bowl box boxes boy
    boyfriend boys brain brand bread break breaking breaks breath bridge bright brilliant bring
    bringing brings broke broken brother brought brown browser brush bucks buddy budget buff bug
    bugs build building buildings builds built bullet bullshit bunch burn burning bus business
    businesses busy but butt butter button buy buying by ca cable cake call called calling calls
    calm calories came camera camp campaign campus can cancer cap capable capacity capital car
    card cards care career careful cares carry carrying cars case cases cash cast casual cat
    catch category cats caught cause caused causes causing cell center central century certain
    certainly chain chair challenge champion chance chances change changed changes changing
    channel character characters charge charged charges chat cheap cheaper cheating check
    checked checking cheese chest chicken child childhood children chocolate choice choices
    choose chose chosen church circle circumstances cities citizens city civil claim claimed
    claiming claims class classes classic clean cleaning clear clearly clever click client clip
    clock close closed closer closest clothes clothing club clue co coach code coffee coins cold
    collection college color colors combat combination combined combo come comes comfortable
    comic comics coming command comment comments commercial commit committed common
    communication community companies company compare compared comparing comparison compete
    competition competitive complain complaining complete completely complex complicated
    computer computers con concept concern concerned concerns conclusion condition conditions
    confidence confident confirm confirmed conflict confused confusing connect connected
    connection consent consequences conservative consider considered considering consistent
    consistently console conspiracy constant constantly contact contain content context continue
    contract contribute control controlled controller controls conversation convince convinced
    cook cooking cool cooler cop cops copy core corner corporate correct correctly cost costs
    could count counter countries country counts couple course court cousin cover coverage
    covered covers crack crap crappy crash crazy cream create created creating creative credit
    creepy crew crime crimes criminal critical criticism cross crowd cry crying cultural culture
    cunt cup curious currency current currently custom customer customers cut cute cuts cutting
    cycle da dad daily damage damn dance danger dangerous dark data date dating daughter day
    days de dead deal dealing deals death debate debt decade decades decent decide decided
    decision decisions deck decks dedicated deep default defend defending defense defensive
    define defined definitely definition degree degrees delete deleted delicious demand
    democracy deny department depending depends depressed depression depth describe described
    description deserve deserves design designed desire desk desktop despite destroy destroyed
    detail details determine develop developed developers development device devices dick did
    die died dies diet difference differences different differently difficult difficulty dig
    digital dinner direct direction directly dirty disagree disappointed discovered discuss
    discussing discussion disease disgusting dislike display distance do doctor doctors does dog
    doge dogs doing dollar dollars done door doors double doubt douche down download draft
    dragon drama draw drawing dream dreams dress drink drinking drinks drive driven driver
    drivers drives driving drop dropped dropping drops drug drugs drunk dry dude dudes due dumb
    during duty dying e each ear earlier early earn ears earth easier easily east easy eat
    eating economic economy edge edit education effect effective effectively effects efficient
    effort egg eggs either el election elements else elsewhere em email emergency emotional
    emotions employee employees empty en encourage end ended ending ends enemies enemy energy
    engine engineering english enjoy enjoyed enjoying enough ensure enter entertaining entire
    entirely entitled entry environment epic episode episodes equal equally equipment equivalent
    era error es escape especially essentially established even event events eventually ever
    every everyday everyone everything everywhere evidence evil evolution ex exact exactly
    example examples excellent except exception exchange excited exciting exclusive excuse
    exercise exist existed existence existing exists expect expected expecting expensive
    experience experienced experiences experiment expert explain explained explaining explains
    explanation express extent extra extreme extremely eye eyes face faces fact factor factors
    facts fail failed failure fair fairly faith fake fall falling falls false familiar families
    family famous fan fancy fans fantastic fantasy far farm fashion fast faster fat father fault
    favor favorite favourite fear feature features fed federal fee feed feedback feel feeling
    feelings feels fees feet fell fellow felt female feminist few field fight fighting fights
    figure figured file files fill filled film films filter final finally financial find finding
    finds fine finger fingers finish finished fire fired first fish fit fits five fix fixed flag
    flair flash flat flavor flight flip floor flow fly flying focus focused folks follow
    followed following food foods foot football for force forced forces forcing foreign forever
    forget forgot form format former forms forth forum forums forward found four frame freaking
    free freedom frequently fresh friend friendly friends from front fruit frustrating fuck
    fucked fucking fucks fuel full fully fun function fund funding funds funny further future
    gain game games gaming gap garbage gas gave gay gear gender general generally generation
    genius genre genuinely get gets getting giant gift girl girlfriend girls give given gives
    giving glad glass glasses global go goal goals god goddamn gods goes going gold gone good
    google gorgeous got gotten government grab grade grammar grand graphics great greater
    greatest greatly green grew gross ground group groups grow growing grown growth guarantee
    guaranteed guard guess guessing guide guilty guitar gun guns guy guys gym ha habit had hair
    half hand handed handle hands hang hanging happen happened happening happens happiness happy
    hard hardcore harder hardly hardware harm has hat hate hated hates have having he head heads
    heal health healthcare healthy hear heard hearing heart heat heavily heavy height held hell
    help helped helpful helping helps hence her here hero heroes herself hidden hide high higher
    highest highly hilarious him himself hire his historical history hit hits hitting hockey
    hold holding holds hole holes holy home homeless honest honestly hook hop hope hopefully
    hoping horrible horror horse hospital host hot hour hours house houses how however huge
    human humanity humans humor hundred hundreds hungry hunting hurt hurts husband i ice id idea
    ideal ideas identify identity idiot idiots if ignorance ignorant ignore ignored ignoring ill
    illegal image images imagine immediately imo impact important impossible impressed
    impression impressive improve improved in incident include included includes including
    income incorrect increase increased increases increasing incredible incredibly indeed
    independent individual individuals industry influence info information initial injury
    innocent input insane inside install installed instance instant instantly instead insult
    insurance intelligence intelligent intended intense intent interest interested interesting
    interests internal international internet interview into invest investment involved iron
    irrelevant is island issue issues it item items its itself jail jealous jerk job jobs join
    joke jokes judge juice jump jumping jungle just justice justify karma keep keeping keeps
    kept key keyboard keys kick kicked kid kidding kids kill killed killing kills kind kinda
    kinds king kit kitchen knee knew knife knock know knowing knowledge known knows la label
    labor lack lady laid land lane language languages laptop large largely larger largest last
    late lately later latest latter laugh laughed laughing launch law laws lawyer lay lazy le
    lead leader leading leads league learn learned learning least leave leaves leaving led left
    leg legal legally legitimate legs length less lesson let letter letters letting level levels
    liberal library license lie lies life lift light lights like liked likely likes limit
    limited limits line lines link linked links liquid list listed listen listening literally
    little live lived lives living load loan loans local location lock locked log logic logical
    logo long longer look looked looking looks loose lose losing loss lost lot lots loud love
    loved lovely loves loving low lower luck lucky lunch lying m machine machines mad made magic
    mail main mainly maintain major majority make makes makeup making male man manage managed
    management manager manner manual many map maps marijuana mark market marketing marriage
    married mass massive master match matches mate material math matter matters max may maybe me
    meal mean meaning means meant measure meat mechanics media medical medium meet meeting
    member members meme memories memory men mental mentally mention mentioned menu merely mess
    message messages messed met metal method methods mid middle might miles military milk
    million millions min mind minds mine mini minimum minor minority minute minutes mirror miss
    missed missing mission mistake mistakes mix mixed mobile mod mode model models moderators
    modern mods mom moment moments money monitor monster month months mood moon moral more
    morning most mostly mother motion motivation mountain mouse mouth move moved movement moves
    movie movies moving much multiple murder muscle music must my myself n naked name named
    names nasty nation national native natural naturally nature near nearly neat necessarily
    necessary neck need needed needs negative neighborhood neither nervous net network neutral
    never new newer news next nice night nights no nobody noise non none nonsense nope nor
    normal normally north nose not note notes nothing notice noticed now nowhere nt nuclear
    number numbers nuts o object objective obvious obviously occasionally odd odds of off
    offended offense offensive offer offered offering offers office officer official often oh
    oil ok okay old older on once one ones online only onto open opened opening opinion opinions
    opponent opportunity opposed opposite option options or orange order ordered orders
    organization original originally other others otherwise our ourselves out outside over
    overall own owned owner owners pack package packs page pages paid pain painful paint pair
    pants paper parent parents park parking part particular particularly parties partner parts
    party pass passed passing passive past patch path patient pattern pay paying payment pays pc
    peace penalty penis people peoples per percent percentage perfect perfectly perform
    performance performed perhaps period permanent person personal personality personally
    perspective pet phase philosophy phone phones photo photos phrase physical physically
    physics pic pick picked picking picks pics picture pictures piece pieces pink piss pissed
    pizza place placed places plain plan plane planet planned planning plans plant plants
    plastic plate platform play played player players playing playoffs plays please pleasure
    plenty plot plug plus pm pocket point pointed pointing pointless points police policies
    policy political politicians politics pool poor poorly pop popular population porn port
    portion position positions positive possibility possible possibly post posted poster posting
    posts pot potato potential potentially pounds power powerful powers practical practically
    practice prefer preference pregnant prepared presence present president press pressure
    pretend pretty prevent previous previously price prices primary prime print prior prison
    private pro probably problem problems process produce produced product production products
    professional profile profit program programming programs progress project projects promise
    proof proper properly property protect protection protein proud prove proven provide
    provided provides providing public pull pulled pulling punch punishment purchase pure purely
    purpose purposes push pushed pushing pussy put puts putting quality quest question questions
    quick quickly quiet quit quite quote race racism racist radio rage raid rain raise raised
    ran random randomly range rank ranked rape raped rare rarely rate rates rather rating ratio
    rational raw re reach reached react reaction read reading ready real realistic reality
    realize realized really reason reasonable reasoning reasons recall receive received recent
    recently recognize recommend recommended record records red reduce refer reference referring
    refuse regarding regardless regards region regret regular regularly related relationship
    relationships relative relatively release released relevant reliable religion religious rely
    remain remember remind reminds remove removed removing rent repeat replace replaced
    replacement replies reply report reported reports represent request require required
    requirements requires research resolution resources respect respond response responses
    responsibility responsible rest restaurant result results retarded return reverse review
    reviews reward rich rid ride ridiculous riding rifle right rights ring rise risk road roads
    rock role roles roll rolling room root rough roughly round rounds route row rude ruin ruined
    rule rules run running runs rush s sad sadly safe safety said sake salary sale sales salt
    same sample sat sauce save saved saving saw say saying says scale scared scary scenario
    scene scenes schedule school schools science scientific score screaming screen screw screwed
    script se sea search searching season seasons seat second seconds secret section security
    see seeing seek seem seemed seems seen sees select selection self selfish sell selling semi
    send sending sense sensitive sent sentence separate series serious seriously serve server
    servers service services set sets setting settings setup several sex sexual sexy shame shape
    share shared sharing she shield shift shiny ship shipping ships shirt shirts shit shitty
    shoes shoot shooting shop shopping short shot shots should shoulder show showed shower
    showing shown shows shut si sick side sidebar sides sight sign signed significant
    significantly signs silly silver similar simple simply sin since single sir sister sit site
    sites sitting situation situations six size sized skill skills skin skip sky sleep sleeping
    slight slightly slow slower slowly small smaller smart smell smile smoke smoking smooth snow
    so social society soft software sold soldiers solid solo solution solve some somebody
    somehow someone something sometime sometimes somewhat somewhere son song songs soon sorry
    sort sorts soul sound sounds source sources south space spam spare spawn speak speaking
    special species specific specifically speech speed spell spelling spells spend spending
    spent spirit split sport sports spot spots spread spring squad square stable stack staff
    stage stand standard standards standing stands star stars start started starting starts
    state stated statement statements states station statistics status stay stayed staying steal
    stealing steam steel step steps stick still stock stolen stomach stone stop stopped stopping
    stops storage store stores stories story straight strange strategy stream street strength
    stress stretch strike string strong stronger strongly structure struggle stuck student
    students studies study studying stuff stupid style sub subject submission submit submitted
    subs success successful such suck sucked sucks suddenly suffer suffering sugar suggest
    suggested suggesting suggestion suggestions suicide suit summer sun super superior supply
    support supported supporting supports suppose supposed sure surely surface surgery surprise
    surprised survive suspect swear sweet switch switched sword system systems t table tag tags
    take taken takes taking talent talk talked talking talks tall tank tanks tape target taste
    tastes taught tax taxes tea teach teacher teachers teaching team teams tear tears tech
    technical technically technique technology teeth tell telling tells temperature ten tend
    tends term terms terrible test tested testing tests text than thank thanks that the their
    them theme themselves then theory therapy there therefore these they thick thin thing things
    think thinking thinks third this tho those though thought thoughts thousand thousands thread
    threads threat three threw through throughout throw throwing thrown thus ticket tickets tie
    tied tier tight till time times tiny tip tips tired title titles to today together toilet
    told tomorrow ton tone tongue tonight tons too took tool tools top topic total totally touch
    tough tournament toward towards tower town track tracks trade trading traditional traffic
    trailer train trained training transfer trash travel treat treated treatment tree trees
    trial trick tried tries trigger trip troll trolling trouble truck true truly trust truth try
    trying turn turned turning turns tv twice two type types typical typically u ugly ult
    ultimate ultimately un unable uncomfortable under understand understanding understood unfair
    unfortunately unique unit units universe university unless unlike unlikely unnecessary until
    up update updated updates upgrade upon upper ups upset us usage use used useful useless user
    users uses using usual usually valid valuable value values variety various vast vehicle
    version versions very via viable victim victims video videos view views violence violent
    vision visit voice volume vote voted votes voting wage wait waiting wake walk walked walking
    walks wall wallet walls want wanted wanting wants war warm warning wars was wash waste
    wasted watch watched watching water wave way ways we weak wealth weapon weapons wear wearing
    weather web website wedding weed week weekend weeks weight weird welcome well went were west
    western wet what whatever wheel when whenever where whereas whether which while white who
    whoever whole whom whose why wide wife wild will willing win wind window windows wine wing
    winning wins winter wise wish with within without woman women won wonder wonderful wondering
    wood word words work worked worker workers working works world worried worries worry worse
    worst worth worthy would wow write writing written wrong wrote x y ya yard yea yeah year
    years yellow yes yesterday yet you young younger your yours yourself zero zone
""".split())
